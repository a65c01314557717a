import t from 'tap';
import { compilePolicy } from '../../gateway/policy.js';
import { parseAddress } from '../../gateway/checks/cidr.js';
import { gatewayError } from '../../gateway/errors.js';
import type { AccessRuleConfig } from '../../gateway/config.js';

const TP = 'B0AF7184C0F1C5E63662167AC5D4B01983BEE4BC949BE1C2A3385C296DC32CD5';
const rules: AccessRuleConfig[] = [
  { name: 'master', sources: ['192.0.2.10/32', '2001:db8::/64'], clients: { thumbprints: [TP] }, methods: ['GET', 'POST'] },
  { name: 'monitoring', sources: ['198.51.100.0/24', '192.0.2.10/32'], methods: ['GET'] },
];
const policy = compilePolicy(rules, { requireClientCert: true });
const conn = (ip: string, thumbprint: string | undefined = TP) => ({ source: parseAddress(ip), thumbprint, subjectPairs: ['CN=x'] });
const decide = (ip: string, method: string, thumbprint?: string) => policy.decide(policy.matchConnection(conn(ip, thumbprint)), method);

t.test('ok: the master may GET and POST', async (t) => {
  t.same(decide('192.0.2.10', 'POST'), { allow: true, rule: 'master', reason: undefined });
  t.same(decide('2001:db8::7', 'GET'), { allow: true, rule: 'master', reason: undefined });
  t.same(decide('::ffff:192.0.2.10', 'POST'), { allow: true, rule: 'master', reason: undefined }, 'IPv4-mapped source');
});

t.test('ok: monitors GET; fail: monitors POST (their own rule refuses)', async (t) => {
  t.same(decide('198.51.100.7', 'GET', 'C'.repeat(64)), { allow: true, rule: 'monitoring', reason: undefined });
  t.same(decide('198.51.100.7', 'POST', 'C'.repeat(64)), { allow: false, rule: 'monitoring', reason: 'METHOD_NOT_ALLOWED' });
});

t.test('first match wins: an unpinned certificate from the master address falls to monitoring', async (t) => {
  t.same(decide('192.0.2.10', 'GET', 'C'.repeat(64)), { allow: true, rule: 'monitoring', reason: undefined });
  t.same(decide('192.0.2.10', 'POST', 'C'.repeat(64)), { allow: false, rule: 'monitoring', reason: 'METHOD_NOT_ALLOWED' });
});

t.test('fail: default deny with the most telling reason', async (t) => {
  t.same(decide('203.0.113.1', 'GET'), { allow: false, rule: undefined, reason: 'IP_NOT_ALLOWED' });
  const pinnedOnly = compilePolicy([rules[0]!], { requireClientCert: true });
  t.same(pinnedOnly.decide(pinnedOnly.matchConnection(conn('192.0.2.10', 'C'.repeat(64))), 'GET'), { allow: false, rule: undefined, reason: 'CLIENT_NOT_ALLOWED' });
  const anonymous = { source: parseAddress('198.51.100.7'), thumbprint: undefined, subjectPairs: undefined };
  t.same(policy.decide(policy.matchConnection(anonymous), 'GET'), { allow: false, rule: undefined, reason: 'CLIENT_NOT_ALLOWED' }, 'no certificate');
});

t.test('sourceListed: the pre-handshake filter', async (t) => {
  t.ok(policy.sourceListed(parseAddress('198.51.100.200')));
  t.notOk(policy.sourceListed(parseAddress('203.0.113.1')));
  t.notOk(policy.sourceListed(undefined));
});

t.test('fail: compile errors carry every bad rule by path', async (t) => {
  const err = t.throws(() =>
    compilePolicy([
      { name: 'a', sources: ['10.0.0.1/8'], methods: ['GET'] },
      { name: 'a', sources: ['10.0.0.0/8'], clients: { thumbprints: ['xyz'] }, methods: ['GET'] },
    ], { requireClientCert: true }),
  );
  t.ok(gatewayError.is(err, 'GATEWAY_POLICY_INVALID'));
  t.match((err as Error).message, /access\[0\]\.sources\[0\]: .*host bits/);
  t.match((err as Error).message, /access\[1\]\.name: "a" is used by an earlier rule/);
  t.match((err as Error).message, /access\[1\]\.clients\.thumbprints\[0\]/);
});

t.test('the policy is an ordered array of checks per rule', async (t) => {
  t.same(policy.rules.map((r) => [...r.connectionChecks.map((c) => c.kind), ...r.requestChecks.map((c) => c.kind)]), [
    ['ipAllowlist', 'clientCert', 'methodPolicy'],
    ['ipAllowlist', 'clientCert', 'methodPolicy'],
  ]);
});

t.test('admin rules: only matchAdmin sees them; they never decide a request for the agent', async (t) => {
  const withAdmin = compilePolicy([{ name: 'admin', sources: ['192.0.2.10/32'], clients: { subjects: ['CN=x'] }, methods: ['GET'], admin: true }, ...rules], { requireClientCert: true });
  t.equal(withAdmin.matchConnection(conn('192.0.2.10')).rule?.name, 'master', 'the admin rule listed first does not take the connection');
  t.equal(withAdmin.matchAdmin(conn('192.0.2.10'))?.name, 'admin');
  t.equal(withAdmin.matchAdmin({ ...conn('192.0.2.10'), subjectPairs: ['CN=y'] }), undefined, 'fail: subject not pinned');
  t.equal(withAdmin.matchAdmin(conn('198.51.100.7')), undefined, 'fail: source not listed');
  t.equal(policy.matchAdmin(conn('192.0.2.10')), undefined, 'no admin rule: nobody is admin');
});
