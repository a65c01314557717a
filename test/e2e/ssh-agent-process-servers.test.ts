/**
 * Agentless process servers through the real agent (`outpost agent start`) and its HTTP API: credentials
 * added with `outpost agent credentials add`, jobs with `processServer`, status reachability, a wrong
 * host key refused, cancel, the agent killed with SIGKILL mid remote job and restarted, and no secret in
 * the agent's log, job records or data directory.
 */
import t from 'tap';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOutpost, tempDir } from '../fixtures/cli.js';
import { startAgentProcess } from '../fixtures/agent.js';
import { createSshUser, sshdSkipReason, startSshd, userProcesses, waitFor } from '../fixtures/sshd.js';

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-agent-');
  const sshd = await startSshd(t);
  const other = await startSshd(t);
  const user = await createSshUser(t, 'agent', dir);
  const server = { remoteHostName: sshd.host, port: sshd.port, hostKey: sshd.fingerprint, interpreterWhitelist: ['/bin/sh', '/bin/bash'] };
  const agent = await startAgentProcess(t, {
    config: {
      processServers: [
        { name: 'loop', credentialKey: 'loop-key', ...server },
        { name: 'loop-pw', credentialKey: 'loop-pw', ...server },
        { name: 'impostor', credentialKey: 'loop-key', ...server, hostKey: other.fingerprint },
      ],
    },
  });
  const passwordFile = join(dir, 'pw');
  const passphraseFile = join(dir, 'pp');
  await writeFile(passwordFile, `${user.password}\n`, { mode: 0o600 });
  await writeFile(passphraseFile, `${user.passphrase}\n`, { mode: 0o600 });
  for (const args of [
    ['loop-key', '--user', user.name, '--private-key', user.privateKeyPath, '--passphrase-file', passphraseFile],
    ['loop-pw', '--user', user.name, '--password-file', passwordFile],
  ]) {
    const r = await runOutpost(['agent', 'credentials', 'add', ...args, '--config', agent.configPath]);
    if (r.code !== 0) throw new Error(`credentials add failed: ${r.stderr}`);
  }

  t.test('jobs with processServer run on the target with key and password logins', async (t) => {
    const a = await agent.submit({ command: 'echo "on $(id -un)"; exit 3', processServer: 'loop' });
    const b = await agent.submit({ argv: ['printf', '%s|', "it's", '$(id)'], processServer: 'loop-pw' });
    t.match(await agent.waitDone(a), { state: 'failed', exitCode: 3, ranOn: { host: sshd.host, user: user.name } });
    t.equal(await agent.output(a), `on ${user.name}\n`);
    t.match(await agent.waitDone(b), { state: 'succeeded', exitCode: 0 });
    t.equal(await agent.output(b), "it's|$(id)|");
    const status = (await agent.request('GET', '/v1/status')).json() as { processServers: Record<string, unknown>[] };
    t.match(status.processServers.find((s) => s.name === 'loop'), { reachable: true, host: sshd.host, port: sshd.port, lastError: null });
  });

  t.test('an unknown credential key is refused at submit', async (t) => {
    const r = await agent.request('POST', '/v1/jobs', { command: 'true', processServer: 'loop', credentialKey: 'nope' });
    t.equal(r.status, 400);
    t.equal(r.json().error?.code, 'AGENT_CREDENTIAL_UNKNOWN');
  });

  t.test('a server presenting another host key: the job fails, nothing runs, status shows why', async (t) => {
    const marker = join(user.home, 'impostor-ran');
    const id = await agent.submit({ argv: ['touch', marker], processServer: 'impostor' });
    const done = await agent.waitDone(id);
    t.equal(done.state, 'failed');
    t.match(done.message, /host key/);
    await t.rejects(readFile(marker), 'nothing ran');
    const status = (await agent.request('GET', '/v1/status')).json() as { processServers: Record<string, unknown>[] };
    t.match(status.processServers.find((s) => s.name === 'impostor'), { reachable: false, lastError: { code: 'AGENT_SSH_HOST_KEY_MISMATCH' } });
  });

  t.test('cancel through the API leaves no remote process', async (t) => {
    const id = await agent.submit({ command: 'echo ready; sleep 300 & sleep 301; echo never', processServer: 'loop' });
    await waitFor(async () => (await agent.output(id)).startsWith('ready'), 30_000, 'job running');
    t.equal((await agent.request('POST', `/v1/jobs/${id}/cancel`)).status < 300, true);
    t.match(await agent.waitDone(id, 60_000), { state: 'cancelled' });
    await waitFor(async () => ((await userProcesses(user.name)).filter((p) => !/outpost-(attach|kill|cleanup)/.test(p.args)).length === 0 ? true : undefined), 20_000, 'no processes left');
    t.pass('no remote process left');
  });

  t.test('the agent SIGKILLed mid remote job: after restart the job completes with all its output', async (t) => {
    const gate = join(user.home, `gate-${process.pid}-${Date.now()}`);
    const lines = 100;
    const id = await agent.submit({
      command: `i=0; while [ $i -lt ${lines} ]; do i=$((i+1)); echo "line $i"; if [ $i = 50 ]; then while [ ! -e ${gate} ]; do sleep 0.05; done; fi; done`,
      processServer: 'loop',
    });
    await waitFor(async () => (await agent.output(id)).includes('line 50\n'), 30_000, 'first half');
    await agent.kill('SIGKILL');
    const procs = await userProcesses(user.name);
    t.ok(procs.some((p) => p.args.includes('while [ $i -lt')), 'the remote job outlived the agent', { procs });
    await writeFile(gate, '');
    await agent.restart();
    t.match(await agent.waitDone(id, 60_000), { state: 'succeeded', exitCode: 0, ranOn: { host: sshd.host, user: user.name } });
    t.equal(await agent.output(id), Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join(''));
  });

  t.test('no password or passphrase in the agent log, job records or data directory (except the 0600 store)', async (t) => {
    const listed = (await agent.request('GET', '/v1/jobs?limit=100')).text;
    const texts = [agent.log, listed];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (!/credentials/.test(e.name)) texts.push(await readFile(p, 'utf8').catch(() => ''));
      }
    };
    await walk(agent.dataDir);
    const all = texts.join('\n');
    t.ok(all.includes(user.name), 'the records name the user');
    t.notOk(all.includes(user.password), 'password absent');
    t.notOk(all.includes(user.passphrase), 'passphrase absent');
    t.notOk(all.includes('PRIVATE KEY'), 'private key absent');
  });
}
