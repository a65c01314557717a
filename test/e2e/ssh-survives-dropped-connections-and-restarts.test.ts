/**
 * Remote jobs run detached: killing every sshd session process mid-job, or SIGKILLing the agent process
 * that started the job, does not kill the job. The executor re-attaches and the local output file ends
 * up with every byte exactly once.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../fixtures/cli.js';
import { captureLogger, createSshUser, sshdSkipReason, startSshd, staticCredentials, userProcesses, waitFor, readOutput } from '../fixtures/sshd.js';
import { createSshExecutor, type ProcessServerConfig } from '../../agent/executors/ssh/index.js';
import type { RuntimeInfo } from '../../agent/executors/executor.js';

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-drop-');
  const sshd = await startSshd(t);
  const user = await createSshUser(t, 'drop', dir);
  const cred = { user: user.name, privateKey: user.privateKey, passphrase: user.passphrase };
  const credentials = staticCredentials({ key: cred });
  const { logger } = captureLogger();
  const server: ProcessServerConfig = { name: 'drop', remoteHostName: sshd.host, port: sshd.port, hostKey: sshd.fingerprint, credentialKey: 'key', interpreterWhitelist: [] };
  const paths = (id: string) => ({ dir, output: join(dir, `${id}.out`) });
  // Numbered lines with pauses, released in two halves by files the test creates: no timing assumptions.
  const gated = (gate: string, lines = 200) =>
    `i=0; while [ $i -lt ${lines} ]; do i=$((i+1)); echo "line $i $(printf '%0100d' 0)"; ` +
    `if [ $i = ${lines / 2} ]; then while [ ! -e ${gate} ]; do sleep 0.05; done; fi; done; exit 7`;
  const expected = (lines = 200) => Array.from({ length: lines }, (_, i) => `line ${i + 1} ${'0'.repeat(100)}\n`).join('');
  const linesIn = async (id: string) => (await readOutput(paths(id).output)).split('\n').length - 1;

  t.test('without the launcher, a long job hands over from its launch exec to attach slices with nothing lost or left behind', async (t) => {
    const ssh = createSshExecutor(server, { credentials, logger, dataDir: dir, remotePerl: null, tuning: { launchSlice: 1, attachSlice: 1, attachInterval: 0.1 } });
    t.teardown(() => ssh.close());
    const id = `drop-${process.pid}-${Date.now().toString(36)}-0`;
    const gate = join(user.home, `gate-${id}`);
    const exec = await ssh.start({ id, kind: 'command', command: gated(gate, 40) }, paths(id));
    await waitFor(async () => (await linesIn(id)) >= 20, 30_000, 'first half');
    // Several launch/attach slices pass while the job waits at the gate.
    await new Promise((r) => setTimeout(r, 3500));
    await (await ssh.start({ id: `${id}-release`, kind: 'argv', argv: ['touch', gate] }, paths(`${id}-release`))).done;
    t.match(await exec.done, { exitCode: 7, reason: 'exited' });
    t.equal(await readOutput(paths(id).output), expected(40));
    const left = () => userProcesses(user.name).then((ps) => ps.filter((p) => !/outpost-(attach|kill|cleanup)/.test(p.args)));
    t.ok(await waitFor(async () => ((await left()).length === 0 ? true : undefined), 20_000, 'no launch shell or tee left'));
  });

  t.test('every sshd session process killed mid-job: the job finishes and its output is complete', async (t) => {
    const ssh = createSshExecutor(server, { credentials, logger, dataDir: dir, tuning: { attachSlice: 2 } });
    t.teardown(() => ssh.close());
    const id = `drop-${process.pid}-${Date.now().toString(36)}-1`;
    const gate = join(user.home, `gate-${id}`);
    const exec = await ssh.start({ id, kind: 'command', command: gated(gate) }, paths(id));
    await waitFor(async () => (await linesIn(id)) >= 100, 30_000, 'first half');
    const killed = await sshd.killSessions();
    t.ok(killed > 0, `killed ${killed} sshd session processes`);
    t.ok((await userProcesses(user.name)).some((p) => p.args.includes('while [ $i -lt')), 'the remote job survived');
    // Release the second half over a fresh connection (the pool re-dials).
    const release = await ssh.start({ id: `${id}-release`, kind: 'argv', argv: ['touch', gate] }, paths(`${id}-release`));
    t.equal((await release.done).exitCode, 0);
    await waitFor(async () => (await linesIn(id)) >= 150, 30_000, 'more lines');
    t.ok((await sshd.killSessions()) > 0, 'and once more');
    const exit = await exec.done;
    t.match(exit, { exitCode: 7, reason: 'exited' });
    t.equal(await readOutput(paths(id).output), expected(), 'every line exactly once, in order');
  });

  t.test('the agent process SIGKILLed mid-job: a new executor re-attaches from the record', async (t) => {
    const id = `drop-${process.pid}-${Date.now().toString(36)}-2`;
    const gate = join(user.home, `gate-${id}`);
    const modules = fileURLToPath(new URL('../../agent/executors/ssh/index.ts', import.meta.url));
    const fixtures = fileURLToPath(new URL('../fixtures/sshd.ts', import.meta.url));
    // A separate "agent" process starts the job and prints the runtime record the agent would persist.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `
        import { createSshExecutor } from ${JSON.stringify(modules)};
        import { staticCredentials, captureLogger } from ${JSON.stringify(fixtures)};
        const a = JSON.parse(process.env.OT_ARGS);
        const ssh = createSshExecutor(a.server, { credentials: staticCredentials({ key: a.cred }), logger: captureLogger().logger, dataDir: a.dir });
        const exec = await ssh.start(a.job, a.paths);
        console.log(JSON.stringify(exec.runtime));
        setInterval(() => {}, 1000);`],
      {
        env: { ...process.env, OT_ARGS: JSON.stringify({ server, cred, dir, job: { id, kind: 'command', command: gated(gate) }, paths: paths(id) }) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    t.teardown(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const runtime = await waitFor(() => (out.includes('\n') ? (JSON.parse(out.split('\n')[0] ?? '') as RuntimeInfo) : undefined), 60_000, 'runtime record');
    await waitFor(async () => (await linesIn(id).catch(() => 0)) >= 60, 30_000, 'some output');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = await linesIn(id);
    t.ok(before < 200, `agent died after ${before} lines`);
    t.ok((await userProcesses(user.name)).some((p) => p.args.includes('while [ $i -lt')), 'the remote job survived the agent');

    const ssh = createSshExecutor(server, { credentials, logger, dataDir: dir, tuning: { attachSlice: 2 } });
    t.teardown(() => ssh.close());
    const again = await ssh.reattach({ id, kind: 'command', command: gated(gate) }, runtime, paths(id));
    if (!('done' in again)) {
      t.fail(JSON.stringify(again));
      return;
    }
    const release = await ssh.start({ id: `${id}-release`, kind: 'argv', argv: ['touch', gate] }, paths(`${id}-release`));
    t.equal((await release.done).exitCode, 0);
    t.match(await again.done, { exitCode: 7, reason: 'exited', ranOn: { host: sshd.host, user: user.name } });
    t.equal(await readOutput(paths(id).output), expected(), 'output complete, nothing duplicated');
  });

  t.test('a job whose launch was never recorded (the agent died in the launch round trip) is asked for on the target: found and followed, or never started', async (t) => {
    const id = `drop-${process.pid}-${Date.now().toString(36)}-4`;
    const gate = join(user.home, `gate-${id}`);
    const first = createSshExecutor(server, { credentials, logger, dataDir: dir });
    await first.start({ id, kind: 'command', command: gated(gate, 20) }, paths(id));
    await waitFor(async () => (await linesIn(id)) >= 10, 30_000, 'first half');
    await first.close();
    const second = createSshExecutor(server, { credentials, logger, dataDir: dir });
    t.teardown(() => second.close());
    // No runtime at all: what the agent has for a job it marked dispatched and died before recording.
    const found = await second.reattach({ id, kind: 'command', command: gated(gate, 20) }, {}, paths(id));
    if (!('done' in found)) return t.fail(JSON.stringify(found));
    t.ok(Number(found.runtime.remotePid) > 0, 'found by its pid file on the target');
    await (await second.start({ id: `${id}-release`, kind: 'argv', argv: ['touch', gate] }, paths(`${id}-release`))).done;
    t.match(await found.done, { exitCode: 7, reason: 'exited' });
    const never = await second.reattach({ id: `${id}-never`, kind: 'argv', argv: ['true'] }, {}, paths(`${id}-never`));
    t.match(never, { notStarted: /no trace of it/ }, 'a job the target never saw is to be queued again, not lost');
  });

  t.test('an executor closed and re-created re-attaches too, and a record for another server is lost', async (t) => {
    const id = `drop-${process.pid}-${Date.now().toString(36)}-3`;
    const gate = join(user.home, `gate-${id}`);
    const first = createSshExecutor(server, { credentials, logger, dataDir: dir });
    const exec = await first.start({ id, kind: 'command', command: gated(gate, 20) }, paths(id));
    await waitFor(async () => (await linesIn(id)) >= 10, 30_000, 'first half');
    await first.close();
    const second = createSshExecutor(server, { credentials, logger, dataDir: dir });
    t.teardown(() => second.close());
    t.match(await second.reattach({ id, kind: 'command' }, { ...exec.runtime, processServer: 'elsewhere' }, paths(id)), { lost: /not started by process server drop/ });
    const again = await second.reattach({ id, kind: 'command' }, exec.runtime, paths(id));
    if (!('done' in again)) return t.fail(JSON.stringify(again));
    await (await second.start({ id: `${id}-release`, kind: 'argv', argv: ['touch', gate] }, paths(`${id}-release`))).done;
    t.match(await again.done, { exitCode: 7 });
    t.equal(await readOutput(paths(id).output), expected(20));
  });

  t.test('a connection dropped during a script launch: refused with nothing run, or found and followed', async (t) => {
    const ssh = createSshExecutor(server, { credentials, logger, dataDir: dir });
    t.teardown(() => ssh.close());
    const id = `drop-${process.pid}-${Date.now().toString(36)}-4`;
    const marker = join(user.home, `ran-${id}`);
    // The side effect comes first: a truncated script that ran would still leave the marker.
    const script = `touch ${marker}\n${'# padding to make the upload take a while\n'.repeat(1_200_000)}echo done\n`;
    const starting = ssh.start({ id, kind: 'script', script }, paths(id));
    const uploaded = join(user.home, '.outpost', 'jobs', `${id}.script`);
    const size = await waitFor(async () => {
      const s = await stat(uploaded).catch(() => null);
      return s && s.size > 1_000_000 ? s.size : undefined;
    }, 60_000, 'upload under way');
    t.ok(size > 0);
    t.ok((await sshd.killSessions()) > 0);
    // Whether the cut lands during the upload or just after it depends on the machine: either the job
    // is refused and nothing ran, or it was found running and completes with all its output.
    const outcome = await starting.then(
      (exec) => ({ exec }),
      (err: unknown) => ({ err }),
    );
    if ('err' in outcome) {
      t.match(outcome.err, { code: 'AGENT_SSH_HOST_UNREACHABLE' }, 'refused after a cut mid-upload');
      t.notOk(existsSync(marker), 'nothing ran');
      t.notOk(existsSync(uploaded), 'the partial script is gone');
      t.notOk(existsSync(join(user.home, '.outpost', 'jobs', `${id}.out`)), 'so the job id can be used again');
    } else {
      t.match(await outcome.exec.done, { exitCode: 0, reason: 'exited' }, 'upload had completed: found running and followed');
      t.ok(existsSync(marker));
      t.equal(await readOutput(paths(id).output), 'done\n');
    }
  });


  t.test('the target down for a while: status says so, and a timeout that fell meanwhile still kills the job', async (t) => {
    const ssh = createSshExecutor(server, { credentials, logger, dataDir: dir });
    t.teardown(() => ssh.close());
    const id = `drop-${process.pid}-${Date.now().toString(36)}-5`;
    const exec = await ssh.start({ id, kind: 'command', command: 'echo ready; sleep 300 & sleep 301', timeoutSeconds: 2 }, paths(id));
    await waitFor(async () => (await linesIn(id)) >= 1, 30_000, 'job running');
    await sshd.down();
    t.teardown(() => sshd.up().catch(() => undefined));
    await waitFor(() => ssh.status().reachable === false || undefined, 30_000, 'status unreachable');
    t.match(ssh.status().lastError, { code: 'AGENT_SSH_HOST_UNREACHABLE' });
    // The timeout (2 s) and its kill fall while the target is down; the job is still running there.
    await new Promise((r) => setTimeout(r, 4000));
    t.ok((await userProcesses(user.name)).some((p) => p.args === 'sleep 301'), 'the job outlived the outage');
    await sshd.up();
    t.match(await exec.done, { reason: 'timeout', exitCode: null });
    t.equal(ssh.status().reachable, true);
    const left = () => userProcesses(user.name).then((ps) => ps.filter((p) => !/outpost-(attach|kill|cleanup)/.test(p.args)));
    t.ok(await waitFor(async () => ((await left()).length === 0 ? true : undefined), 20_000, 'nothing left'));
  });

}
