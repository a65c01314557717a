/**
 * Client identity check: a verified certificate whose SHA-256 thumbprint is pinned, or whose subject
 * carries every attribute of a pinned subject (`CN=master` matches `CN=master,O=Example`). A rule without
 * `clients:` accepts any certificate the CA bundle and CRL accepted.
 */
import { canonicalThumbprint, subjectPairsOf } from '../../core/client-identity.js';
import type { ConnectionCheck } from './check.js';

export { canonicalThumbprint, subjectPairsOf };

export interface ClientCertCheck extends ConnectionCheck {
  readonly kind: 'clientCert';
  readonly thumbprints: ReadonlySet<string>;
  readonly subjects: readonly (readonly string[])[];
}

export function clientCert(
  clients: { thumbprints?: readonly string[]; subjects?: readonly string[] } | undefined,
  requireCert = true,
): ClientCertCheck {
  const thumbprints = new Set<string>();
  clients?.thumbprints?.forEach((t, i) => {
    try {
      thumbprints.add(canonicalThumbprint(t));
    } catch (err) {
      throw new Error(`clients.thumbprints[${i}]: ${(err as Error).message}`);
    }
  });
  const subjects = (clients?.subjects ?? []).map((s, i) => {
    try {
      const pairs = subjectPairsOf(s);
      if (pairs.length === 0) throw new Error('empty subject');
      return pairs;
    } catch (err) {
      throw new Error(`clients.subjects[${i}]: ${(err as Error).message}`);
    }
  });
  const pinned = thumbprints.size > 0 || subjects.length > 0;
  return {
    kind: 'clientCert',
    phase: 'connection',
    thumbprints,
    subjects,
    run(facts) {
      if (!pinned && !requireCert) return undefined;
      if (facts.thumbprint === undefined) return 'CLIENT_NOT_ALLOWED';
      if (!pinned) return undefined;
      if (thumbprints.has(facts.thumbprint)) return undefined;
      const have = facts.subjectPairs ?? [];
      for (const want of subjects) if (want.every((p) => have.includes(p))) return undefined;
      return 'CLIENT_NOT_ALLOWED';
    },
  };
}
