/**
 * The access policy (docs/gateway.md): ordered rules, first match wins, default deny. Each rule is an array of
 * checks compiled once at start or reload — a bad CIDR or thumbprint stops the start with its path
 * (`access[1].sources[0]: …`), never a request.
 *
 * A rule *applies* to a connection when its connection checks pass (source, client certificate); the first
 * rule that applies decides every request on that connection with its request checks (method). So a
 * monitor that POSTs is refused by its own rule (METHOD_NOT_ALLOWED) rather than falling through.
 */
import type { AccessRuleConfig } from './config.js';
import type { Check, ConnectionCheck, ConnectionFacts, DenyReason, RequestCheck } from './checks/check.js';
import { ipAllowlist, type IpAllowlist } from './checks/ip-allowlist.js';
import { clientCert } from './checks/client-cert.js';
import { methodPolicy } from './checks/method-policy.js';
import { cidrContains, type ParsedAddress } from './checks/cidr.js';
import { gatewayError } from './errors.js';

export interface CompiledRule {
  readonly name: string;
  readonly index: number;
  readonly connectionChecks: readonly ConnectionCheck[];
  readonly requestChecks: readonly RequestCheck[];
  readonly methods: readonly string[];
  /** Grants the admin routes only (gateway/admin/); never considered for requests to the agent. */
  readonly admin: boolean;
}

export interface RuleMatch {
  rule: CompiledRule | undefined;
  /** Why no rule applied (the most specific reason met), when rule is undefined. */
  reason: DenyReason | undefined;
}

export interface Decision {
  allow: boolean;
  rule: string | undefined;
  reason: DenyReason | undefined;
}

export interface Policy {
  readonly rules: readonly CompiledRule[];
  /** True when some rule lists the address: others are dropped before the TLS handshake. */
  sourceListed(addr: ParsedAddress | undefined): boolean;
  matchConnection(facts: ConnectionFacts): RuleMatch;
  /** The first admin rule whose connection checks pass, if any. */
  matchAdmin(facts: ConnectionFacts): CompiledRule | undefined;
  decide(match: RuleMatch, method: string): Decision;
}

function firstDenial(rule: CompiledRule, facts: ConnectionFacts): DenyReason | undefined {
  for (const check of rule.connectionChecks) {
    const denied = check.run(facts);
    if (denied) return denied;
  }
  return undefined;
}

export function compilePolicy(rules: readonly AccessRuleConfig[], options: { requireClientCert: boolean }): Policy {
  const problems: string[] = [];
  const names = new Set<string>();
  const compiled: CompiledRule[] = [];
  const allSources: IpAllowlist[] = [];
  rules.forEach((r, index) => {
    if (names.has(r.name)) problems.push(`access[${index}].name: "${r.name}" is used by an earlier rule`);
    names.add(r.name);
    try {
      const ip = ipAllowlist(r.sources);
      allSources.push(ip);
      const checks: Check[] = [ip, clientCert(r.clients, options.requireClientCert), methodPolicy(r.methods)];
      compiled.push({
        name: r.name,
        index,
        connectionChecks: checks.filter((c): c is ConnectionCheck => c.phase === 'connection'),
        requestChecks: checks.filter((c): c is RequestCheck => c.phase === 'request'),
        methods: [...r.methods],
        admin: r.admin === true,
      });
    } catch (err) {
      problems.push(`access[${index}].${(err as Error).message}`);
    }
  });
  if (problems.length > 0) {
    throw gatewayError('GATEWAY_POLICY_INVALID', `the access policy is invalid:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  Object.freeze(compiled);

  return {
    rules: compiled,
    sourceListed(addr) {
      if (!addr) return false;
      for (const ip of allSources) for (const c of ip.cidrs) if (cidrContains(c, addr)) return true;
      return false;
    },
    matchConnection(facts) {
      let reason: DenyReason = 'IP_NOT_ALLOWED';
      for (const rule of compiled) {
        if (rule.admin) continue;
        const denied = firstDenial(rule, facts);
        if (!denied) return { rule, reason: undefined };
        // CLIENT_NOT_ALLOWED is more telling than IP_NOT_ALLOWED: the address was listed somewhere.
        if (denied === 'CLIENT_NOT_ALLOWED') reason = denied;
      }
      return { rule: undefined, reason };
    },
    matchAdmin(facts) {
      return compiled.find((rule) => rule.admin && firstDenial(rule, facts) === undefined);
    },
    decide(match, method) {
      const rule = match.rule;
      if (!rule) return { allow: false, rule: undefined, reason: match.reason ?? 'IP_NOT_ALLOWED' };
      for (const check of rule.requestChecks) {
        const denied = check.run(method);
        if (denied) return { allow: false, rule: rule.name, reason: denied };
      }
      return { allow: true, rule: rule.name, reason: undefined };
    },
  };
}
