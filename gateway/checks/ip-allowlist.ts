/** Source address check: the connection's address must fall in one of the rule's CIDRs. */
import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import type { ConnectionCheck } from './check.js';

export interface IpAllowlist extends ConnectionCheck {
  readonly kind: 'ipAllowlist';
  readonly cidrs: readonly Cidr[];
}

/** Throws an Error naming the first bad entry by its index (the caller adds the rule's path). */
export function ipAllowlist(sources: readonly string[]): IpAllowlist {
  const cidrs = sources.map((s, i) => {
    try {
      return parseCidr(s.trim());
    } catch (err) {
      throw new Error(`sources[${i}]: ${(err as Error).message}`);
    }
  });
  return {
    kind: 'ipAllowlist',
    phase: 'connection',
    cidrs,
    run(facts) {
      const src = facts.source;
      if (src) for (const c of cidrs) if (cidrContains(c, src)) return undefined;
      return 'IP_NOT_ALLOWED';
    },
  };
}
