/**
 * The SSH executor against a real OpenSSH sshd: key and password logins, exit codes, live output, job
 * kinds, the interpreter whitelist, credential errors, and no secret in any log, record or output.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { captureLogger, createSshUser, sshdSkipReason, startSshd, staticCredentials, waitFor, readOutput } from '../fixtures/sshd.js';
import { createSshExecutor, type ProcessServerConfig, type SshExecutor } from '../../agent/executors/ssh/index.js';
import type { Execution } from '../../agent/executors/executor.js';

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-run-');
  const sshd = await startSshd(t);
  const user = await createSshUser(t, 'run', dir);
  const capture = captureLogger();
  const credentials = staticCredentials({
    key: { user: user.name, privateKey: user.privateKey, passphrase: user.passphrase },
    pw: { user: user.name, password: user.password },
    wrongpw: { user: user.name, password: `${user.password}-wrong` },
    badphrase: { user: user.name, privateKey: user.privateKey, passphrase: 'not-it' },
    dom: { user: `CORP\\${user.name}`, password: user.password },
  });
  const server: ProcessServerConfig = {
    name: 'loop',
    remoteHostName: sshd.host,
    port: sshd.port,
    hostKey: sshd.fingerprint,
    credentialKey: 'key',
    interpreterWhitelist: ['/bin/sh', '/bin/bash'],
  };
  const executors: SshExecutor[] = [];
  t.teardown(() => Promise.all(executors.map((e) => e.close())));
  const executor = (over: Partial<ProcessServerConfig> = {}, remotePerl?: string | null): SshExecutor => {
    const e = createSshExecutor({ ...server, ...over }, { credentials, logger: capture.logger, dataDir: dir, ...(remotePerl !== undefined ? { remotePerl } : {}) });
    executors.push(e);
    return e;
  };
  let n = 0;
  const paths = (id: string) => ({ dir, output: join(dir, `${id}.out`) });
  const token = Date.now().toString(36);
  const jobId = () => `job-${process.pid}-${token}-${++n}`;
  const ssh = executor();
  const records: unknown[] = [];
  const run = async (e: SshExecutor, spec: Omit<Parameters<SshExecutor['start']>[0], 'id'>) => {
    const id = jobId();
    const exec = await e.start({ id, ...spec }, paths(id));
    const exit = await exec.done;
    records.push({ runtime: exec.runtime, exit });
    // The executor creates the local file with the first byte: a silent job leaves none.
    const output = await readOutput(paths(id).output).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err)));
    return { id, exec, exit, output };
  };

  t.test('a key login (passphrase-protected key) runs a command and reports its exit code and host/user', async (t) => {
    const { exit, output, exec } = await run(ssh, { kind: 'command', command: 'echo "hello from $(id -un)"; echo oops >&2; exit 3' });
    t.equal(output, `hello from ${user.name}\noops\n`);
    t.match(exit, { exitCode: 3, signal: null, reason: 'exited', ranOn: { host: sshd.host, user: user.name } });
    t.match(exec.runtime, { executor: 'ssh', processServer: 'loop', loginUser: user.name, runAs: user.name });
    t.equal(ssh.status().reachable, true);
    t.type(ssh.status().lastConnectAt, 'string');
  });

  t.test('output beyond maxOutputBytes is cut with a marker here; the job runs on to its end', async (t) => {
    const { exit, output } = await run(ssh, { kind: 'command', command: "head -c 300000 /dev/zero | tr '\\0' b; echo; exit 4", maxOutputBytes: 1000 });
    t.equal(output, `${'b'.repeat(1000)}\n[outpost: output cut at 1000 bytes; maxOutputBytes]\n`);
    t.match(exit, { exitCode: 4, reason: 'exited', outputTruncated: true });
    const small = await run(ssh, { kind: 'command', command: 'echo fits', maxOutputBytes: 1000 });
    t.equal(small.output, 'fits\n');
    t.notOk('outputTruncated' in small.exit);
  });

  t.test('a password login works too', async (t) => {
    const { exit, output } = await run(executor({ credentialKey: 'pw' }), { kind: 'command', command: 'id -un' });
    t.equal(output, `${user.name}\n`);
    t.equal(exit.exitCode, 0);
  });

  t.test('exit codes come back as they are', async (t) => {
    for (const code of [0, 1, 2, 42, 127, 255]) {
      const { exit } = await run(ssh, { kind: 'argv', argv: ['/bin/sh', '-c', `exit ${code}`] });
      t.equal(exit.exitCode, code, `exit ${code}`);
    }
    const missing = await run(ssh, { kind: 'argv', argv: ['/nonexistent/program'] });
    t.equal(missing.exit.exitCode, 127);
    t.match(missing.output, /nonexistent/);
  });

  t.test('output streams into the local file while the job runs', async (t) => {
    const id = jobId();
    const release = `${user.home}/release-${id}`;
    const exec: Execution = await ssh.start({ id, kind: 'command', command: `echo first; while [ ! -e ${release} ]; do sleep 0.1; done; echo second` }, paths(id));
    let finished = false;
    void exec.done.then(() => (finished = true));
    await waitFor(async () => (await readOutput(paths(id).output)) === 'first\n', 20_000, 'first line');
    t.equal(finished, false, 'the first line arrived before the job ended');
    // The job waits for a file only the test creates, so nothing here depends on timing.
    await run(ssh, { kind: 'argv', argv: ['touch', release] });
    const exit = await Promise.race([exec.done, new Promise<null>((r) => setTimeout(() => r(null), 60_000).unref())]);
    if (exit === null) {
      await exec.abort();
      t.fail('job did not finish');
      return;
    }
    t.equal(await readOutput(paths(id).output), 'first\nsecond\n');
  });

  t.test('argv, script and env values reach the target verbatim (no shell parsing)', async (t) => {
    const nasty = ["it's", '$(id)', '`id`', 'a;b', '*', '', 'new\nline', '-n'];
    const argv = await run(ssh, { kind: 'argv', argv: ['printf', '[%s]', ...nasty], env: { ODD: "x'$(id)'y" }, cwd: '/tmp' });
    t.equal(argv.output, nasty.map((a) => `[${a}]`).join(''));
    const script = await run(ssh, {
      kind: 'script',
      interpreter: '/bin/bash',
      script: 'echo "$BASH_VERSION" | grep -q . && echo bash; echo "[$1][$2][$ODD] $(pwd)"; exit 5',
      args: ['a b', '$(id)'],
      env: { ODD: "x'$(id)'y" },
      cwd: '/tmp',
    });
    t.equal(script.output, "bash\n[a b][$(id)][x'$(id)'y] /tmp\n");
    t.equal(script.exit.exitCode, 5);
  });

  t.test('refusals: interpreter not whitelisted, unknown credential, DOMAIN\\user, wrong password, wrong passphrase', async (t) => {
    const id = jobId();
    await t.rejects(ssh.start({ id, kind: 'command', command: 'true', interpreter: '/usr/bin/perl' }, paths(id)), { code: 'AGENT_SSH_INTERPRETER_NOT_ALLOWED' });
    await t.rejects(ssh.start({ id, kind: 'command', command: 'true', credentialKey: 'nope' }, paths(id)), { code: 'AGENT_CREDENTIAL_UNKNOWN' });
    await t.rejects(executor({ credentialKey: 'nope' }).start({ id, kind: 'command', command: 'true' }, paths(id)), { code: 'AGENT_CREDENTIAL_UNKNOWN' });
    await t.rejects(ssh.start({ id, kind: 'command', command: 'true', credentialKey: 'dom' }, paths(id)), { code: 'AGENT_CREDENTIAL_BAD_USER', message: new RegExp(`${user.name}@CORP`) });
    await t.rejects(ssh.start({ id, kind: 'command', command: 'true', runAs: 'CORP\\x' }, paths(id)), { code: 'AGENT_SSH_USERNAME_INVALID', message: /x@CORP/ });
    const wrong = executor({ credentialKey: 'wrongpw' });
    await t.rejects(wrong.start({ id, kind: 'command', command: 'true' }, paths(id)), { code: 'AGENT_SSH_AUTH_FAILED' });
    t.match(wrong.status(), { reachable: false, lastError: { code: 'AGENT_SSH_AUTH_FAILED' } });
    await t.rejects(executor({ credentialKey: 'badphrase' }).start({ id, kind: 'command', command: 'true' }, paths(id)), { code: 'AGENT_SSH_AUTH_FAILED', message: /passphrase/ });
  });

  t.test('a target without perl: jobs start with their own exec wrapper, same results', async (t) => {
    const e = executor({}, 'perl-not-installed-here');
    for (let i = 0; i < 2; i++) {
      const { exit, output } = await run(e, { kind: 'argv', argv: ['printf', '%s|', 'a b', "it's"], env: { X: '1' } });
      t.equal(output, "a b|it's|");
      t.equal(exit.exitCode, 0);
    }
    t.equal(capture.text().split('no perl on the target').length - 1, 1, 'said once, then remembered');
  });

  t.test('the launcher is one process per login and user, and it ends with its executor', async (t) => {
    // Other executors of this file keep theirs: count against what ran before.
    const launchers = () => spawnSync('ps', ['-u', user.name, '-o', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l === 'outpost-launcher').length;
    const before = launchers();
    const e = executor();
    await Promise.all(Array.from({ length: 4 }, () => run(e, { kind: 'command', command: 'echo x' })));
    t.equal(launchers(), before + 1, 'one launcher for four jobs');
    await e.close();
    t.ok(await waitFor(async () => (launchers() === before ? true : undefined), 10_000, 'launcher gone'), 'and it is gone once the executor is closed');
  });

  t.test("finished jobs' files are removed from the target", async (t) => {
    const e = executor();
    const { id } = await run(e, { kind: 'script', script: 'echo cleanup-me' });
    const jobs = join(user.home, '.outpost', 'jobs');
    t.ok((await readdir(jobs)).some((f) => f.startsWith(`${id}.`)), 'the files are there while the job is fresh');
    await e.close(); // flushes the pending cleanup batch
    const left = (await readdir(jobs)).filter((f) => f.startsWith(`${id}.`));
    t.same(left, [], 'no .out/.pid/.exit/.rc/.script left');
  });

  t.test('no password or passphrase in any log line, job record or output', async (t) => {
    const everything = [capture.text(), JSON.stringify(records)].join('\n');
    t.ok(capture.text().length > 0, 'something was logged');
    t.notOk(everything.includes(user.password), 'password absent');
    t.notOk(everything.includes(user.passphrase), 'passphrase absent');
    t.notOk(everything.includes('PRIVATE KEY'), 'private key absent');
  });
}
