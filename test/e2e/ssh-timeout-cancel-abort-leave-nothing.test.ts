/**
 * Timeout, cancel and abort kill the remote job's process group, session and descendants: afterwards no
 * process of the job's user is left on the target. Run-as goes through sudo; a refusal has its own code.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { allowSudo, captureLogger, createSshUser, sshdSkipReason, startSshd, staticCredentials, userProcesses, waitFor, readOutput } from '../fixtures/sshd.js';
import { createSshExecutor } from '../../agent/executors/ssh/index.js';

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-kill-');
  const sshd = await startSshd(t);
  const login = await createSshUser(t, 'kill', dir);
  const batch = await createSshUser(t, 'batch', dir);
  const other = await createSshUser(t, 'other', dir);
  await allowSudo(t, login.name, batch.name);
  const credentials = staticCredentials({ key: { user: login.name, privateKey: login.privateKey, passphrase: login.passphrase } });
  const { logger } = captureLogger();
  const ssh = createSshExecutor(
    { name: 'kill', remoteHostName: sshd.host, port: sshd.port, hostKey: sshd.fingerprint, credentialKey: 'key', interpreterWhitelist: [] },
    { credentials, logger, dataDir: dir },
  );
  t.teardown(() => ssh.close());
  const paths = (id: string) => ({ dir, output: join(dir, `${id}.out`) });
  let n = 0;
  const jobId = () => `kill-${process.pid}-${++n}`;
  // Our own short-lived wrapper execs (attach, kill, cleanup) are transport, not the job.
  const leftovers = async (user: string) => (await userProcesses(user)).filter((p) => !/outpost-(attach|kill|cleanup)/.test(p.args));
  const noneLeft = (user: string) => waitFor(async () => ((await leftovers(user)).length === 0 ? true : undefined), 20_000, `no processes of ${user}`);
  // Children in the job's group, a grandchild in its own session, and a double-forked orphan.
  const TREE = 'echo ready; sleep 300 & setsid sleep 301 & (sleep 302 &) ; sleep 303; echo never';

  t.test('a timeout kills the whole tree and reports reason timeout', async (t) => {
    const id = jobId();
    const exec = await ssh.start({ id, kind: 'command', command: TREE, timeoutSeconds: 2 }, paths(id));
    const exit = await exec.done;
    t.match(exit, { reason: 'timeout', exitCode: null });
    t.ok(exit.signal === 'SIGTERM' || exit.signal === 'SIGKILL');
    // dash may report its killed child ("Terminated"); the job itself never got past it.
    t.match(await readOutput(paths(id).output), /^ready\n(Terminated\n)?$/);
    t.ok(await noneLeft(login.name));
  });

  t.test('cancel sends TERM (the job may clean up) and leaves nothing behind', async (t) => {
    const id = jobId();
    const exec = await ssh.start({ id, kind: 'command', command: `trap 'echo cleaning up; exit 9' TERM; ${TREE.replace('sleep 303', 'sleep 303 & wait')}` }, paths(id));
    await waitFor(async () => (await readOutput(paths(id).output)).startsWith('ready'), 20_000, 'job running');
    await exec.cancel(5000);
    const exit = await exec.done;
    t.match(exit, { reason: 'cancel', exitCode: 9 });
    t.equal(await readOutput(paths(id).output), 'ready\ncleaning up\n');
    t.ok(await noneLeft(login.name));
  });

  t.test('cancel escalates to KILL after the grace period when TERM is ignored', async (t) => {
    const id = jobId();
    const exec = await ssh.start({ id, kind: 'command', command: `trap '' TERM; ${TREE}` }, paths(id));
    await waitFor(async () => (await readOutput(paths(id).output)).startsWith('ready'), 20_000, 'job running');
    await exec.cancel(500);
    t.match(await exec.done, { reason: 'cancel', signal: 'SIGKILL' });
    t.ok(await noneLeft(login.name));
  });

  t.test('abort kills at once', async (t) => {
    const id = jobId();
    const exec = await ssh.start({ id, kind: 'command', command: TREE }, paths(id));
    await waitFor(async () => (await readOutput(paths(id).output)).startsWith('ready'), 20_000, 'job running');
    await exec.abort();
    t.match(await exec.done, { reason: 'abort', exitCode: null, signal: 'SIGKILL' });
    t.ok(await noneLeft(login.name));
  });

  t.test('run-as another user goes through sudo; cancel reaches that user\'s processes', async (t) => {
    const id = jobId();
    const exec = await ssh.start({ id, kind: 'command', command: `id -un; ${TREE}`, runAs: batch.name }, paths(id));
    t.match(exec.runtime, { loginUser: login.name, runAs: batch.name });
    await waitFor(async () => (await readOutput(paths(id).output)).includes('ready'), 20_000, 'job running');
    t.ok((await leftovers(batch.name)).length > 0, 'the job runs as the run-as user');
    await exec.cancel(1000);
    const exit = await exec.done;
    t.match(exit, { reason: 'cancel', ranOn: { host: sshd.host, user: batch.name } });
    t.match(await readOutput(paths(id).output), new RegExp(`^${batch.name}\nready\n(Terminated\n)?$`));
    t.ok(await noneLeft(batch.name));
    t.ok(existsSync(join(batch.home, '.outpost', 'jobs')), 'job files live in the run-as user\'s home');
  });

  t.test('sudo refusing the run-as user fails with AGENT_SSH_SUDO_REFUSED and runs nothing', async (t) => {
    const id = jobId();
    await t.rejects(ssh.start({ id, kind: 'argv', argv: ['touch', join(other.home, 'ran')], runAs: other.name }, paths(id)), {
      code: 'AGENT_SSH_SUDO_REFUSED',
      message: new RegExp(other.name),
    });
    t.notOk(existsSync(join(other.home, 'ran')));
    t.notOk(existsSync(join(other.home, '.outpost')));
  });
}
