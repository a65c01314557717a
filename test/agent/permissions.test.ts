import t from 'tap';
import { parseAgentConfig } from '../../agent/config.js';
import { askedOf, controlRefusal, globMatches, jobRefusal, matchRule, sameClient, whoami, type Asked } from '../../agent/permissions.js';
import type { JobSpec } from '../../agent/executors/executor.js';

const base = { listen: { socket: '/run/outpost/agent.sock' }, dataDir: '/var/lib/outpost/agent' };
const THUMB = 'AB'.repeat(32);

const config = parseAgentConfig({
  ...base,
  processServers: [
    { name: 'db01', remoteHostName: 'db01', hostKey: 'SHA256:abc', defaultRunAsUser: 'oracle' },
    { name: 'web01', remoteHostName: 'web01', hostKey: 'SHA256:abc' },
  ],
  templates: [
    { name: 'disk-usage', argv: ['df', '-h'] },
    { name: 'say', command: 'echo "$MSG"', inputs: { MSG: { type: 'string', pattern: '.*' } } },
    { name: 'restart', argv: ['systemctl', 'restart', 'app'] },
  ],
  permissions: [
    { name: 'scheduler', clients: { subjects: ['CN=master'] }, adHoc: true, templates: ['*'], control: 'all' },
    { name: 'pipeline', clients: { thumbprints: [THUMB.match(/../g)!.join(':').toLowerCase()] }, templates: ['restart'], processServers: ['web*'], runAs: ['deploy'], credentialKeys: ['web-login'], maxTimeoutSeconds: 300 },
    { name: 'oncall', clients: { subjects: ['CN=oncall'] }, adHoc: false, templates: ['disk-usage', 'say'], runAs: ['batch'], processServers: ['local'], control: 'own' },
    { name: 'everyone-else', templates: ['disk-usage'] },
  ],
});
const rules = config.permissions;

const asked = (a: Partial<Asked>): Asked => ({ target: 'local', credentialKeys: [], ...a });
const refusalOf = (who: object | null, a: Partial<Asked>) => jobRefusal(rules, who as never, asked(a));

t.test('ok: rules match on subject attributes or thumbprint, first match wins, the default rule catches the rest', async (t) => {
  t.equal(matchRule(rules!, { subject: 'CN=master' })?.name, 'scheduler');
  t.equal(matchRule(rules!, { subject: 'O=Example,CN=master' })?.name, 'scheduler', 'every pinned attribute present, in any order');
  t.equal(matchRule(rules!, { subject: 'CN=pipeline', thumbprint: THUMB })?.name, 'pipeline', 'thumbprints compare in canonical form');
  t.equal(matchRule(rules!, { subject: '/CN=oncall' })?.name, 'oncall', 'OpenSSL slash form as nginx may send it');
  t.equal(matchRule(rules!, { subject: 'CN=master-two' })?.name, 'everyone-else', 'CN=master-two is not CN=master');
  t.equal(matchRule(rules!, null)?.name, 'everyone-else');
});

t.test('ok: no permissions section, no limits', async (t) => {
  t.equal(jobRefusal(undefined, null, asked({ runAs: 'root' })), null);
  t.equal(controlRefusal(undefined, null, { subject: 'CN=x' }, 'cancel', 'j1'), null);
  t.match(whoami(undefined, { subject: 'CN=x' }), { restricted: false, rule: null });
});

t.test('ok: what each rule grants', async (t) => {
  t.equal(refusalOf({ subject: 'CN=master' }, { runAs: 'root', target: 'db01', credentialKeys: ['any'] }), null);
  t.equal(refusalOf({ subject: 'CN=oncall' }, { template: 'say', runAs: 'batch' }), null);
  t.equal(refusalOf({ thumbprint: THUMB }, { template: 'restart', runAs: 'deploy', target: 'web01', credentialKeys: ['web-login'], timeoutSeconds: 300 }), null);
  t.equal(refusalOf({ subject: 'CN=oncall' }, { template: 'say', runAs: undefined }), null, 'an unknown (SSH login) user is not judged by runAs');
});

t.test('fail/each grant: 403 AGENT_PERMISSION_DENIED names what was asked and the rule', async (t) => {
  const cases: [object | null, Partial<Asked>, string | null, Record<string, unknown>, RegExp][] = [
    [{ subject: 'CN=oncall' }, { runAs: 'batch' }, 'oncall', { adHoc: true }, /CN=oncall may not run ad hoc jobs .*templates it may run: disk-usage, say \(rule oncall\)/],
    [{ subject: 'CN=oncall' }, { template: 'restart', runAs: 'batch' }, 'oncall', { template: 'restart' }, /may not run template restart/],
    [{ subject: 'CN=oncall' }, { template: 'say', runAs: 'root' }, 'oncall', { runAs: 'root' }, /may not run jobs as root; users it may run as: batch/],
    [{ subject: 'CN=oncall' }, { template: 'say', runAs: 'batch', target: 'db01' }, 'oncall', { processServer: 'db01' }, /may not run jobs on process server db01; it may run on: local/],
    [{ thumbprint: THUMB }, { template: 'restart', runAs: 'deploy' }, 'pipeline', { processServer: 'local' }, /may not run jobs on this host \(local\)/],
    [{ thumbprint: THUMB }, { template: 'restart', runAs: 'deploy', target: 'web01', credentialKeys: ['db-root'], timeoutSeconds: 5 }, 'pipeline', { credentialKey: 'db-root' }, /may not use credential db-root/],
    [{ thumbprint: THUMB }, { template: 'restart', runAs: 'deploy', target: 'web01', timeoutSeconds: 301 }, 'pipeline', { timeoutSeconds: 301 }, /at most 300 s \(maxTimeoutSeconds\)/],
    [{ thumbprint: THUMB }, { template: 'restart', runAs: 'deploy', target: 'web01' }, 'pipeline', { timeoutSeconds: null }, /without a timeout/],
    [null, { template: 'say' }, 'everyone-else', { template: 'say' }, /a caller without a client identity may not run template say/],
  ];
  for (const [who, a, rule, what, message] of cases) {
    const e = refusalOf(who, a);
    t.match(e, { code: 'AGENT_PERMISSION_DENIED', status: 403, message, details: { rule, asked: what } }, message.source);
  }
  const strict = parseAgentConfig({ ...base, permissions: [{ name: 'only-master', clients: { subjects: ['CN=master'] }, adHoc: true }] }).permissions;
  t.match(jobRefusal(strict, { subject: 'CN=intruder' }, asked({})), { details: { rule: null }, message: /no permissions rule matches/ }, 'no default rule: nobody else');
});

t.test('ok: the run-as user judged is the effective one', async (t) => {
  const spec = (s: Partial<JobSpec>): JobSpec => ({ id: 'j', kind: 'argv', argv: ['x'], ...s });
  t.equal(askedOf(spec({}), undefined, config.processServers, 'outpost').runAs, 'outpost', 'local, no runAs: the agent\'s own user');
  t.equal(askedOf(spec({ processServer: 'db01' }), undefined, config.processServers, 'outpost').runAs, 'oracle', 'the server\'s defaultRunAsUser');
  t.equal(askedOf(spec({ processServer: 'web01' }), undefined, config.processServers, 'outpost').runAs, undefined);
  t.same(askedOf(spec({ processServer: 'db01', credentialKey: 'a', secretEnv: { X: 'b', Y: 'a' } }), 't', config.processServers, 'u'), { template: 't', runAs: 'oracle', target: 'db01', credentialKeys: ['a', 'b'], timeoutSeconds: undefined });
});

t.test('control: own refuses another client\'s job, all does not', async (t) => {
  const oncall = { subject: 'CN=oncall', thumbprint: 'CD'.repeat(32) };
  t.equal(controlRefusal(rules, oncall, { subject: 'CN=oncall', thumbprint: 'CD'.repeat(32), address: '10.0.0.1' }, 'cancel', 'j1'), null);
  t.match(controlRefusal(rules, oncall, { subject: 'CN=master' }, 'cancel', 'j1'), { code: 'AGENT_PERMISSION_DENIED', details: { rule: 'oncall', asked: { cancel: 'j1' } }, message: /may cancel only its own jobs \(control: own\); job j1 was submitted by CN=master/ });
  t.match(controlRefusal(rules, oncall, null, 'abort', 'j2'), { message: /submitted by no identified client/ });
  t.equal(controlRefusal(rules, { subject: 'CN=master' }, oncall, 'abort', 'j1'), null);
  t.notOk(sameClient({ subject: 'CN=oncall', thumbprint: 'CD'.repeat(32) }, { subject: 'CN=oncall', thumbprint: 'EF'.repeat(32) }), 'same subject, other certificate: the thumbprint decides');
  t.ok(sameClient({ subject: 'CN=a, O=b' }, { subject: 'O=b,CN=a' }));
});

t.test('ok: whoami names the rule beside the identity and its grants', async (t) => {
  t.match(whoami(rules, { subject: 'CN=oncall' }), { identity: { subject: 'CN=oncall' }, restricted: true, rule: 'oncall', grants: { adHoc: false, templates: ['disk-usage', 'say'], runAs: ['batch'], processServers: ['local'], credentialKeys: ['*'], maxTimeoutSeconds: null, control: 'own' } });
});

t.test('ok: globs', async (t) => {
  t.ok(globMatches('web*', 'web01'));
  t.ok(globMatches('db0?', 'db01'));
  t.notOk(globMatches('db0?', 'db010'));
  t.notOk(globMatches('web.1', 'webx1'), 'a dot is a dot');
});

t.test('fail/config: permissions fail at start with the key path', async (t) => {
  const bad = (permissions: unknown[], extra: Record<string, unknown> = {}): string => {
    try {
      parseAgentConfig({ ...base, ...extra, templates: [{ name: 'say', command: 'echo hi' }], permissions });
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  t.match(bad([{ name: 'a', templates: ['sya'] }]), /permissions\[0\]\.templates\[0\]: no template named sya/);
  t.match(bad([{ name: 'a' }, { name: 'b', clients: { subjects: ['CN=x'] } }]), /permissions\[0\]\.clients: a rule without clients matches every caller, so the rules after it \(b\) would never apply/);
  t.match(bad([{ name: 'a', clients: {} }]), /permissions\[0\]\.clients: give subjects or thumbprints/);
  t.match(bad([{ name: 'a', clients: { thumbprints: ['abc'] } }]), /permissions\[0\]\.clients\.thumbprints\[0\]: "abc" is not a SHA-256 thumbprint/);
  t.match(bad([{ name: 'a', clients: { subjects: ['master'] } }]), /permissions\[0\]\.clients\.subjects\[0\]: .*is not KEY=value/);
  t.match(bad([{ name: 'a', control: 'some' }]), /permissions\[0\]\.control/);
  t.match(bad([{ name: 'a', processServers: ['db02'] }]), /permissions\[0\]\.processServers\[0\]: no process server named db02/);
  t.match(bad([{ name: 'a', adhoc: true }]), /permissions\[0\]\.adhoc: unknown key/);
  t.match(bad([{ name: 'a' }, { name: 'a' }]), /permissions\[1\]\.name: two rules are named a/);
  t.match(bad([]), /accepted/, 'an empty list is valid: nobody may do anything');
});
