/**
 * Least privilege per client, end to end: certificates from our CA, the real gateway and the real agent.
 * Two masters with different rules — a scheduler (ad hoc, every template, control: all) and an on-call team
 * (templates only, one run-as user, this host only, control: own) — every refusal path, injection attempts
 * through template inputs run for real with no side effect, `control: own` refusing another client's
 * cancel, a SIGHUP narrowing a rule while a job is queued, and the master's `--template` and `templates`.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { createBed, MASTER_IP, MONITOR_IP, startGatewayFront } from '../fixtures/gateway.js';
import { call } from '../fixtures/gateway-client.js';
import { startAgentProcess } from '../fixtures/agent.js';
import { ensureUser } from '../fixtures/agent-users.js';
import { isRoot, runOutpost } from '../fixtures/cli.js';
import type { Issued } from '../fixtures/pki.js';

// Answers are read loosely: t.match checks their shape.
type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const USER = 'ot-agent-perms';
const OTHER = 'ot-agent-perms2';

const templates = [
  { name: 'say', description: 'echo a message', command: 'printf "%s\\n" "$MSG"', runAs: USER, inputs: { MSG: { type: 'string', pattern: '.{0,200}' } } },
  { name: 'list-dir', argv: ['/bin/ls', '-d', '{{DIR}}'], runAs: USER, inputs: { DIR: { type: 'string', pattern: '.{1,200}' } } },
  {
    name: 'echo-args', script: 'printf "[%s]" "$@"\nprintf "{%s}\\n" "$NOTE"\n', interpreter: '/bin/sh', args: ['{{WORD}}'], runAs: USER,
    inputs: { WORD: { type: 'string', pattern: '.{0,100}', allowOptionLike: true }, NOTE: { type: 'string', pattern: '.{0,100}', default: '' } },
  },
  { name: 'pause', argv: ['/bin/sleep', '{{SECONDS}}'], runAs: USER, inputs: { SECONDS: { type: 'integer', min: 1, max: 30 } } },
  { name: 'as-other', argv: ['/usr/bin/id', '-un'], runAs: OTHER },
  { name: 'with-token', command: 'echo "token has ${#TOKEN} characters"', runAs: USER, inputs: { TOKEN: { type: 'secret', credentialKeys: ['api-token'], default: 'api-token' } } },
  { name: 'wipe', argv: ['/bin/true'] },
];

const scheduler = { name: 'scheduler', clients: { subjects: ['CN=master'] }, adHoc: true, templates: ['*'], control: 'all' };
const oncall = (granted: string[]) => ({
  name: 'oncall', clients: { subjects: ['CN=oncall'] }, adHoc: false, templates: granted, runAs: [USER], processServers: ['local'], maxTimeoutSeconds: 60, control: 'own',
});
const ONCALL_TEMPLATES = ['say', 'list-dir', 'echo-args', 'pause', 'as-other', 'with-token'];

if (!isRoot) {
  t.test('permissions and templates through the gateway', { skip: 'needs root (creates OS users for run-as)' }, () => undefined);
} else {
  await ensureUser(USER);
  await ensureUser(OTHER);

  t.test('two masters with different rules through the real gateway', async (t) => {
    const bed = await createBed(t);
    const oncallCert = await bed.pki.issueConnector({ name: 'oncall' });
    const agentConfig = (granted: string[]) => ({
      maxConcurrentJobs: 1, cancelGraceSeconds: 1, runAs: { allowedUsers: [USER, OTHER] }, secretEnvKeys: ['api-token'],
      templates, permissions: [scheduler, oncall(granted)],
    });
    const agent = await startAgentProcess(t, { config: agentConfig(ONCALL_TEMPLATES) });
    const pw = join(agent.dir, 'token');
    await writeFile(pw, 'tok-3141592653\n', { mode: 0o600 });
    const added = await runOutpost(['agent', 'credentials', 'add', 'api-token', '--config', agent.configPath, '--user', USER, '--password-file', pw]);
    t.equal(added.code, 0, added.stderr);

    bed.config.upstream = { socket: agent.socket };
    (bed.config.access as unknown[]).push({ name: 'oncall', sources: ['127.0.0.0/8'], clients: { subjects: ['CN=oncall'] }, methods: ['GET', 'POST'] });
    await bed.writeConfig();
    const front = await startGatewayFront(t, bed);

    const ask = async (cert: Issued, method: string, path: string, body?: unknown) => {
      const from = cert === bed.certs.monitor ? MONITOR_IP : MASTER_IP;
      const r = await call({ port: front.port, ca: bed.pki.caCertPem, from, cert, method, path, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
      return { status: r.status, json: JSON.parse(r.body || '{}') as Loose };
    };
    const master = bed.certs.master;
    const submit = async (cert: Issued, body: unknown): Promise<string> => {
      const r = await ask(cert, 'POST', '/v1/jobs', body);
      if (r.status !== 201) throw new Error(`submit: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json.id as string;
    };
    const done = async (id: string): Promise<Loose> => {
      const job = await agent.waitDone(id, 20_000);
      return { ...job, output: await agent.output(id) };
    };
    const refusal = async (cert: Issued, body: unknown) => (await ask(cert, 'POST', '/v1/jobs', body)).json.error as { code: string; message: string; details: Loose };

    t.test('whoami names the rule the agent matched on the identity the gateway vouched for', async (t) => {
      t.match((await ask(oncallCert, 'GET', '/v1/whoami')).json, { identity: { subject: 'CN=oncall', thumbprint: oncallCert.thumbprint }, rule: 'oncall', grants: { adHoc: false, runAs: [USER], control: 'own' } });
      t.match((await ask(master, 'GET', '/v1/whoami')).json, { rule: 'scheduler', grants: { adHoc: true, templates: ['*'], control: 'all' } });
      t.match((await ask(bed.certs.monitor, 'GET', '/v1/whoami')).json, { identity: { subject: 'CN=monitor' }, rule: null, restricted: true });
      const listed = (await ask(bed.certs.monitor, 'GET', '/v1/templates')).json.templates as Record<string, unknown>[];
      t.same(listed.map((x) => x.name), templates.map((x) => x.name), 'a GET-only monitor lists the templates');
      t.ok(listed.every((x) => x.allowed === false), 'and is allowed none of them');
      const mine = (await ask(oncallCert, 'GET', '/v1/templates')).json.templates as Record<string, unknown>[];
      t.same(mine.filter((x) => x.allowed).map((x) => x.name), ONCALL_TEMPLATES);
    });

    t.test('every refusal path: 403 with what was asked and the rule; bad inputs 400 naming input and rule', async (t) => {
      t.match(await refusal(oncallCert, { argv: ['/usr/bin/id'] }), { code: 'AGENT_PERMISSION_DENIED', details: { rule: 'oncall', asked: { adHoc: true } } });
      t.match(await refusal(oncallCert, { template: 'wipe' }), { code: 'AGENT_PERMISSION_DENIED', details: { rule: 'oncall', asked: { template: 'wipe' } } });
      t.match(await refusal(oncallCert, { template: 'no-such' }), { code: 'AGENT_PERMISSION_DENIED', details: { asked: { template: 'no-such' } } }, 'an ungranted name says nothing about whether it exists');
      t.match(await refusal(master, { template: 'no-such' }), { code: 'AGENT_TEMPLATE_UNKNOWN' });
      t.match(await refusal(oncallCert, { template: 'as-other' }), { code: 'AGENT_PERMISSION_DENIED', details: { asked: { runAs: OTHER } }, message: new RegExp(`may not run jobs as ${OTHER}; users it may run as: ${USER}`) });
      t.match(await refusal(oncallCert, { template: 'say', inputs: { MSG: 'x' }, processServer: 'db01' }), { code: 'AGENT_PERMISSION_DENIED', details: { asked: { processServer: 'db01' } } });
      t.match(await refusal(oncallCert, { template: 'say', inputs: { MSG: 'x' }, timeoutSeconds: 61 }), { code: 'AGENT_PERMISSION_DENIED', details: { asked: { timeoutSeconds: 61 } } });
      t.match(await refusal(oncallCert, { template: 'say', inputs: { MSG: 'x' }, runAs: 'root' }), { code: 'AGENT_BAD_REQUEST', message: /runAs: fixed by template say/ });
      t.match(await refusal(oncallCert, { template: 'say', command: 'id' }), { code: 'AGENT_BAD_REQUEST', message: /command: not with template/ });
      t.match(await refusal(bed.certs.monitor, { template: 'say' }), { code: 'GATEWAY_METHOD_NOT_ALLOWED' }, 'the gateway still stops GET-only clients first');
      t.match(await refusal(oncallCert, { template: 'say', inputs: { MSG: 'a\nb' } }), { code: 'AGENT_TEMPLATE_INPUT_INVALID', details: { input: 'MSG', rule: 'pattern' } });
      t.match(await refusal(oncallCert, { template: 'say', inputs: { MSG: 'x'.repeat(5000) } }), { code: 'AGENT_TEMPLATE_INPUT_INVALID', details: { input: 'MSG', rule: 'maxLength' } });
      t.match(await refusal(oncallCert, { template: 'say' }), { code: 'AGENT_TEMPLATE_INPUT_MISSING', details: { input: 'MSG', rule: 'required' } });
      t.match(await refusal(oncallCert, { template: 'say', inputs: { MSG: 'x', EXTRA: 'y' } }), { code: 'AGENT_TEMPLATE_INPUT_UNKNOWN', details: { input: 'EXTRA' } });
      t.match(await refusal(oncallCert, { template: 'pause', inputs: { SECONDS: 99 } }), { code: 'AGENT_TEMPLATE_INPUT_INVALID', details: { input: 'SECONDS', rule: 'max' } });
      t.match(await refusal(oncallCert, { template: 'list-dir', inputs: { DIR: '-rf' } }), { code: 'AGENT_TEMPLATE_INPUT_INVALID', details: { input: 'DIR', rule: 'option-like' } });
      t.match(agent.log, /"message":"permission denied".*"subject":"CN=oncall"/, 'the agent logs each refusal with the identity');
    });

    t.test('injection attempts through inputs run for real and stay data', async (t) => {
      const marker = `/tmp/outpost-pwned-${randomBytes(4).toString('hex')}`;
      t.teardown(() => rm(marker, { force: true }));
      const payloads = [`$(touch ${marker})`, `\`touch ${marker}\``, `x; touch ${marker}`, `x && touch ${marker} #`, `'"; touch ${marker}; echo "'`, `$(IFS=_;cmd=touch_${marker};$cmd)`];
      for (const p of payloads) {
        const said = await done(await submit(oncallCert, { template: 'say', inputs: { MSG: p } }));
        t.equal(said.output, `${p}\n`, `command template prints ${p} literally`);
        const listed = await done(await submit(oncallCert, { template: 'list-dir', inputs: { DIR: p } }));
        t.equal(listed.state, 'failed', 'argv template: one argument, a path that does not exist');
        t.match(listed.output, /No such file or directory/);
        const echoed = await done(await submit(oncallCert, { template: 'echo-args', inputs: { WORD: p, NOTE: p } }));
        t.equal(echoed.output, `[${p}]{${p}}\n`, 'script template: a whole positional parameter and an environment value');
      }
      const dashed = await done(await submit(oncallCert, { template: 'echo-args', inputs: { WORD: '-rf' } }));
      t.equal(dashed.output, '[-rf]{}\n', 'allowOptionLike: the value is still a single word');
      t.notOk(existsSync(marker), 'no payload ran');
      const ranAs = await done(await submit(oncallCert, { template: 'say', inputs: { MSG: '$USER' } }));
      t.equal(ranAs.output, '$USER\n');
    });

    t.test('the job record and status page show template and inputs, secret inputs masked', async (t) => {
      const id = await submit(oncallCert, { template: 'with-token' });
      const job = await done(id);
      t.equal(job.output, 'token has 14 characters\n');
      t.same(job.template, { name: 'with-token', inputs: { TOKEN: '***' } });
      t.match(job.submittedBy, { subject: 'CN=oncall' });
      t.notMatch(JSON.stringify(job), /tok-3141592653/);
      const said = await done(await submit(oncallCert, { template: 'say', inputs: { MSG: 'on the page' } }));
      t.same(said.template, { name: 'say', inputs: { MSG: 'on the page' } });
      const page = await agent.request('GET', `/ui/jobs/${said.id as string}`);
      t.match(page.text, /<dt>Template<\/dt><dd><code>say<\/code><\/dd>/);
      t.match(page.text, /<code>MSG<\/code> = <code>&#34;on the page&#34;<\/code>/);
      const tokenPage = await agent.request('GET', `/ui/jobs/${id}`);
      t.match(tokenPage.text, /<code>TOKEN<\/code> = <code>&#34;\*\*\*&#34;<\/code>/);
    });

    t.test('control: own refuses another client\'s cancel; control: all may', async (t) => {
      const theirs = await submit(master, { argv: ['/bin/sleep', '20'], runAs: USER });
      const refused = await ask(oncallCert, 'POST', `/v1/jobs/${theirs}/cancel`);
      t.equal(refused.status, 403);
      t.match(refused.json.error, { code: 'AGENT_PERMISSION_DENIED', details: { rule: 'oncall', asked: { cancel: theirs } }, message: /only its own jobs \(control: own\); job \S+ was submitted by CN=master/ });
      t.equal((await ask(oncallCert, 'POST', `/v1/jobs/${theirs}/abort`)).status, 403);
      t.equal((await ask(master, 'POST', `/v1/jobs/${theirs}/abort`)).status, 202);
      t.equal((await done(theirs)).state, 'cancelled');

      const mine = await submit(oncallCert, { template: 'pause', inputs: { SECONDS: '20' } });
      t.equal((await ask(oncallCert, 'POST', `/v1/jobs/${mine}/cancel`)).status, 202, 'its own job');
      t.equal((await done(mine)).state, 'cancelled');
    });

    t.test('a SIGHUP narrowing a rule refuses a queued job when it starts, and new requests at once', async (t) => {
      const blocker = await submit(master, { argv: ['/bin/sleep', '20'], runAs: USER });
      const queued = await submit(oncallCert, { template: 'say', inputs: { MSG: 'too late' } });
      t.equal((await agent.request('GET', `/v1/jobs/${queued}`)).json().state, 'queued');
      await writeFile(agent.configPath, stringify({ listen: { socket: agent.socket }, dataDir: agent.dataDir, jobIsolation: 'warn', ...agentConfig(ONCALL_TEMPLATES.filter((n) => n !== 'say')) }));
      const reloads = (agent.log.match(/"message":"reloaded"/g) ?? []).length;
      agent.child.kill('SIGHUP');
      for (let i = 0; (agent.log.match(/"message":"reloaded"/g) ?? []).length === reloads; i++) {
        if (i > 200) throw new Error(`no reload:\n${agent.log}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      t.match(await refusal(oncallCert, { template: 'say', inputs: { MSG: 'new' } }), { code: 'AGENT_PERMISSION_DENIED', details: { asked: { template: 'say' } } });
      t.equal((await ask(master, 'POST', `/v1/jobs/${blocker}/cancel`)).status, 202);
      const job = await done(queued);
      t.equal(job.state, 'failed');
      t.match(job.message, /^AGENT_PERMISSION_DENIED: CN=oncall may not run template say/);
      t.equal(job.output, '', 'it never ran');
    });

    t.test('the master: outpost job templates and job run --template', async (t) => {
      const env = { OUTPOST_CERT: oncallCert.certPath, OUTPOST_KEY: oncallCert.keyPath, OUTPOST_CA: bed.pki.caCertPath };
      const url = `https://localhost:${front.port}`;
      const listed = await runOutpost(['job', 'templates', '--agent', url], { env });
      t.equal(listed.code, 0, listed.stderr);
      t.match(listed.stdout, /^echo-args\n/m);
      t.match(listed.stdout, /--input SECONDS=… {2}integer, 1\.\.30, required/);
      t.match(listed.stdout, /^say {2}\(not permitted for you\)$/m, 'since the reload');
      const ran = await runOutpost(['job', 'run', '--agent', url, '--template', 'echo-args', '--input', 'WORD=a b; $(id)', '--input', 'NOTE=n'], { env });
      t.equal(ran.code, 0, ran.stderr);
      t.match(ran.stdout, /\[a b; \$\(id\)\]\{n\}/);
      const denied = await runOutpost(['job', 'run', '--agent', url, '--', '/usr/bin/id'], { env });
      t.not(denied.code, 0);
      t.match(denied.stdout + denied.stderr, /AGENT_PERMISSION_DENIED/);
    });
  });
}
