/**
 * The agent's policy for SSH jobs, through the real agent, a real sshd, real users and real sudo: run-as
 * users and login credentials limited per process server (also for a queued job after a reload), and
 * secretEnv values that reach the job but never a command line on the target, the API, the journal or
 * the log, and show masked in the job's output.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { runOutpost, tempDir } from '../fixtures/cli.js';
import { startAgentProcess } from '../fixtures/agent.js';
import { allowSudo, createSshUser, sshdSkipReason, startSshd, waitFor } from '../fixtures/sshd.js';

/** Every process's command line on this host (the target is this host). */
async function allCommandLines(): Promise<string> {
  const lines: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    lines.push(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''));
  }
  return lines.join('\n');
}

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-policy-');
  const sshd = await startSshd(t);
  const login = await createSshUser(t, 'pol', dir);
  const batch = await createSshUser(t, 'pol-batch', dir);
  const other = await createSshUser(t, 'pol-other', dir);
  // sudo on the target would let the login user become either: only the agent's policy stands in the way.
  // One rule for both (allowSudo writes one file per login user).
  await allowSudo(t, login.name, `${batch.name},${other.name}`);
  const server = { remoteHostName: sshd.host, port: sshd.port, hostKey: sshd.fingerprint, interpreterWhitelist: ['/bin/sh'] };
  const config = {
    maxConcurrentJobs: 1,
    runAs: { allowedUsers: [batch.name] },
    secretEnvKeys: ['local-secret'],
    processServers: [
      { name: 'db01', credentialKey: 'db01-login', secretEnvKeys: ['db-password'], ...server },
      { name: 'web02', credentialKey: 'web02-login', ...server },
    ],
  };
  const agent = await startAgentProcess(t, { config });
  const secret = `S3cr3t-${Math.random().toString(36).slice(2)}-${process.pid}`;
  const localSecret = `L0cal-${Math.random().toString(36).slice(2)}-${process.pid}`;
  const plain = `plain-${Math.random().toString(36).slice(2)}-${process.pid}`;
  const files: Record<string, string> = { pw: `${login.password}\n`, secret: `${secret}\n`, local: `${localSecret}\n`, pp: `${login.passphrase}\n` };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { mode: 0o600 });
  for (const args of [
    ['db01-login', '--user', login.name, '--password-file', join(dir, 'pw')],
    ['web02-login', '--user', login.name, '--private-key', login.privateKeyPath, '--passphrase-file', join(dir, 'pp')],
    ['db-password', '--user', 'app', '--password-file', join(dir, 'secret')],
    ['local-secret', '--user', 'app', '--password-file', join(dir, 'local')],
  ]) {
    const r = await runOutpost(['agent', 'credentials', 'add', ...args, '--config', agent.configPath]);
    if (r.code !== 0) throw new Error(`credentials add failed: ${r.stderr}`);
  }
  let n = 0;
  const gatePath = () => join('/tmp', `ot-pol-gate-${process.pid}-${++n}`);
  const reload = async (next: Record<string, unknown>): Promise<void> => {
    const current = parse(await readFile(agent.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(agent.configPath, stringify({ ...current, ...next }));
    const from = agent.log.length;
    agent.child.kill('SIGHUP');
    await waitFor(() => /"reloaded"|reloaded/.test(agent.log.slice(from)), 20_000, 'reload');
  };

  t.test('fail: runAs outside the allowed users is refused for an SSH job although sudo would allow it', async (t) => {
    const marker = join(other.home, `ran-${process.pid}`);
    const r = await agent.request('POST', '/v1/jobs', { argv: ['touch', marker], processServer: 'db01', runAs: other.name });
    t.equal(r.status, 403);
    t.equal(r.json().error?.code, 'AGENT_RUNAS_NOT_ALLOWED');
    t.match(r.json().error?.message, new RegExp(`${other.name}.*runAs\\.allowedUsers`));
    t.notOk(existsSync(marker), 'nothing ran');
  });

  t.test('ok: an allowed runAs runs through sudo as that user', async (t) => {
    const id = await agent.submit({ command: 'id -un', processServer: 'db01', runAs: batch.name });
    const done = await agent.waitDone(id, 60_000);
    t.match(done, { state: 'succeeded' }, String(done.message));
    t.equal(await agent.output(id), `${batch.name}\n`);
  });

  t.test("fail: a job for web02 cannot log in with db01's credential", async (t) => {
    const r = await agent.request('POST', '/v1/jobs', { command: 'true', processServer: 'web02', credentialKey: 'db01-login' });
    t.equal(r.status, 403);
    t.equal(r.json().error?.code, 'AGENT_CREDENTIAL_NOT_ALLOWED');
    t.match(r.json().error?.message, /web02.*db01-login.*web02-login/);
    const own = await agent.submit({ command: 'echo own', processServer: 'web02', credentialKey: 'web02-login' });
    t.match(await agent.waitDone(own, 60_000), { state: 'succeeded' }, 'its own key is fine');
  });

  t.test('fail: secretEnv keys are checked: unknown, not allowed here, a private key, twice named', async (t) => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ command: 'true', processServer: 'db01', secretEnv: { X: 'nope' } }, 400, 'AGENT_CREDENTIAL_UNKNOWN'],
      [{ command: 'true', processServer: 'web02', secretEnv: { X: 'db-password' } }, 403, 'AGENT_SECRET_ENV_NOT_ALLOWED'],
      [{ command: 'true', secretEnv: { X: 'db-password' } }, 403, 'AGENT_SECRET_ENV_NOT_ALLOWED'],
      [{ command: 'true', processServer: 'db01', secretEnv: { X: 'web02-login' } }, 400, 'AGENT_SECRET_ENV_NOT_PASSWORD'],
      [{ command: 'true', processServer: 'db01', env: { X: '1' }, secretEnv: { X: 'db-password' } }, 400, 'AGENT_BAD_REQUEST'],
    ];
    for (const [body, status, code] of cases) {
      const r = await agent.request('POST', '/v1/jobs', body);
      t.same([r.status, r.json().error?.code], [status, code], JSON.stringify(body));
    }
  });

  // Through the launcher (a small request) and through the exec wrapper (a request too big for the launcher
  // channel, which before went on the sshd command line and made sshd drop the connection).
  for (const [how, big] of [
    ['the launcher', {}],
    ['the exec wrapper (a request over 256 KiB)', { BIG1: 'a'.repeat(100_000), BIG2: 'b'.repeat(100_000), BIG3: 'c'.repeat(100_000) }],
  ] as const) {
    t.test(`ok: secret and plain env reach the job through ${how}, never a command line, the API, journal or log`, async (t) => {
      const gate = gatePath();
      t.teardown(() => rm(gate, { force: true }));
      const id = await agent.submit({
        command: 'echo "pw=$DB_PASSWORD plain=$PLAIN big=${#BIG1}"; while [ ! -e "$GATE" ]; do sleep 0.1; done; echo "again $DB_PASSWORD"',
        processServer: 'db01',
        env: { PLAIN: plain, GATE: gate, ...big },
        secretEnv: { DB_PASSWORD: 'db-password' },
      });
      const outputFile = join(agent.dataDir, 'jobs', id, 'output');
      await waitFor(async () => (await readFile(outputFile, 'utf8').catch(() => '')).includes('plain='), 60_000, 'job running');
      const lines = await allCommandLines();
      t.notOk(lines.includes(secret), 'the secret is on no command line of the target while the job runs');
      t.notOk(lines.includes(plain), 'nor is a plain env value');
      await writeFile(gate, '');
      t.match(await agent.waitDone(id, 60_000), { state: 'succeeded' });
      const stars = '*'.repeat(secret.length);
      const bigLength = 'BIG1' in big ? 100_000 : 0;
      t.equal(await agent.output(id), `pw=${stars} plain=${plain} big=${bigLength}\nagain ${stars}\n`, 'masked in the output');
      const job = (await agent.request('GET', `/v1/jobs/${id}`)).json();
      t.notOk('env' in job, 'no env values in the job record');
      t.same(job.envNames, ['GATE', 'PLAIN', ...Object.keys(big)].sort());
      t.same(job.secretEnv, { DB_PASSWORD: 'db-password' });
      const shown = [
        (await agent.request('GET', `/v1/jobs/${id}`)).text,
        (await agent.request('GET', '/v1/jobs?limit=100')).text,
        (await agent.request('GET', `/ui/jobs/${id}`)).text,
        (await agent.request('GET', `/ui/jobs/${id}/output.txt`)).text,
      ].join('\n');
      t.notOk(shown.includes(secret), 'no secret in the API or on the status page');
      t.notOk(shown.split(plain).length - 1 > 2, 'plain env values only where the job printed them (output.txt and the job page)');
      t.ok(shown.includes(stars), 'the status page masks too');
      const kept: string[] = [agent.log];
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          // The store holds the secret (0600), the output file what the job printed (masked when served).
          if (e.isDirectory()) await walk(p);
          else if (!/credentials/.test(e.name) && e.name !== 'output') kept.push(await readFile(p, 'utf8').catch(() => ''));
        }
      };
      await walk(agent.dataDir);
      t.notOk(kept.join('\n').includes(secret), 'no secret in the journal, records or log');
      const jobs = join(login.home, '.outpost', 'jobs');
      t.notOk((await readdir(jobs)).some((f) => f.endsWith('.params')), 'no parameter file left on the target');
    });
  }

  t.test('ok: a local job gets its secretEnv value, masked in its output', async (t) => {
    const id = await agent.submit({ command: 'echo "[$LOCAL_PW]"', secretEnv: { LOCAL_PW: 'local-secret' } });
    t.match(await agent.waitDone(id), { state: 'succeeded' });
    t.equal(await agent.output(id), `[${'*'.repeat(localSecret.length)}]\n`);
    t.notOk(agent.log.includes(localSecret));
  });

  t.test('fail: a queued job whose runAs user was removed by a reload does not run', async (t) => {
    const gate = gatePath();
    t.teardown(() => rm(gate, { force: true }));
    const blocker = await agent.submit({ argv: ['/bin/sh', '-c', 'while [ ! -e "$1" ]; do sleep 0.1; done', 'sh', gate] });
    const marker = join(batch.home, `queued-ran-${process.pid}`);
    const queued = await agent.submit({ argv: ['touch', marker], processServer: 'db01', runAs: batch.name });
    t.equal((await agent.request('GET', `/v1/jobs/${queued}`)).json().state, 'queued');
    await reload({ runAs: { allowedUsers: [] } });
    t.teardown(() => reload({ runAs: config.runAs }));
    await writeFile(gate, '');
    t.match(await agent.waitDone(blocker), { state: 'succeeded' });
    t.match(await agent.waitDone(queued, 60_000), { state: 'failed', message: /^AGENT_RUNAS_NOT_ALLOWED: .*runAs\.allowedUsers/ });
    t.notOk(existsSync(marker), 'nothing ran as the removed user');
  });
}
