/**
 * The local launcher and its supervisor (launcher.pl, shim.pl, become.pl) through a pipe, as the agent
 * drives them: `L` requests in, `S`/`X` lines out, and the job's output and status files. No agent, no
 * HTTP: what the Perl programs do for each kind of payload, on their own.
 */
import t from 'tap';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from '../fixtures/cli.js';
import { encodeLaunch, launcherCommand, type LaunchRequest } from '../../agent/executors/local/launcher.js';
import { buildInvocation, type InvocationOptions } from '../../agent/executors/local/invocation.js';
import { SHIM_MAIN, STATUS_FORMAT } from '../../agent/executors/local/supervisor-source.js';
import type { JobSpec } from '../../agent/executors/executor.js';

interface Status {
  v: number;
  reason: string;
  exitCode: number | null;
  signal: number | null;
  error: string;
  outputTruncated: boolean;
}

const OPTIONS: InvocationOptions = {
  interpreterWhitelist: ['/bin/sh'],
  localInterpreter: {},
  runAsMethod: 'sudo',
  agentUser: 'me',
  jobIsolation: 'warn',
  perl: 'perl',
  baseEnv: { PATH: '/usr/bin:/bin' },
};

class Launcher {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private n = 0;

  constructor() {
    const { file, args } = launcherCommand('perl');
    this.child = spawn(file, args, { env: { PATH: '/usr/bin:/bin' } });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  private async line(match: (l: string) => boolean): Promise<string> {
    for (;;) {
      const i = this.lines.findIndex(match);
      if (i >= 0) return this.lines.splice(i, 1)[0] as string;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Starts a job: the supervisor's pid once the launcher answered `S`. */
  async start(dir: string, r: Omit<LaunchRequest, 'dir' | 'output'>): Promise<number> {
    await mkdir(dir, { recursive: true });
    const req = `r${++this.n}`;
    this.child.stdin.write(encodeLaunch(req, { dir, output: join(dir, 'output'), ...r }));
    const answer = await this.line((l) => l.startsWith(`S ${req} `) || l.startsWith(`E ${req} `));
    if (answer.startsWith('E ')) throw new Error(answer);
    return Number(answer.split(' ')[2]);
  }

  /** Waits for the supervisor's `X`, then reads what it left. */
  async end(dir: string, supervisor: number): Promise<{ status: Status; output: string }> {
    await this.line((l) => l.startsWith(`X ${supervisor} `));
    return { status: JSON.parse(await readFile(join(dir, 'status'), 'utf8')) as Status, output: await readFile(join(dir, 'output'), 'utf8') };
  }

  async run(dir: string, job: Omit<JobSpec, 'id'>, limits: { timeoutSeconds?: number; maxOutputBytes?: number } = {}): Promise<{ status: Status; output: string }> {
    const inv = buildInvocation({ id: 'j1', ...job } as JobSpec, OPTIONS);
    const pid = await this.start(dir, { timeoutSeconds: limits.timeoutSeconds ?? 0, graceSeconds: 1, maxOutputBytes: limits.maxOutputBytes ?? 0, mode: inv.mode, payload: inv.payload, argv: inv.argv, switchAs: [] });
    return this.end(dir, pid);
  }
}

t.test('the supervisor applies each kind of payload, enforces its limits and writes the status', async (t) => {
  const root = await tempDir(t, 'ot-sup-pipe-');
  const l = new Launcher();
  t.teardown(() => {
    l.child.kill('SIGKILL');
  });

  await t.test('a command with env and cwd: a cleared environment holds only what was given', async (t) => {
    const r = await l.run(join(root, 'a'), { kind: 'command', command: 'echo "$FOO"; pwd; echo "home=${HOME-unset}"', env: { FOO: "it's $(x)" }, cwd: root });
    t.equal(r.output, `it's $(x)\n${root}\nhome=unset\n`);
    t.match(r.status, { v: STATUS_FORMAT, reason: 'exited', exitCode: 0, signal: null, error: '', outputTruncated: false });
  });

  await t.test('a script travels through a pipe and its exit code is kept', async (t) => {
    const r = await l.run(join(root, 'b'), { kind: 'script', script: 'echo "from $0"\necho "args $*"\nexit 3\n', args: ['x', 'y z'] });
    t.match(r.output, /^from \/dev\/fd\/\d+\nargs x y z\n$/);
    t.match(r.status, { reason: 'exited', exitCode: 3 });
  });

  await t.test('a working directory that does not exist: exit 127 and why, the job never runs', async (t) => {
    const r = await l.run(join(root, 'c'), { kind: 'command', command: 'echo ran', cwd: join(root, 'nowhere') });
    t.equal(r.output, `outpost: cannot change to directory ${join(root, 'nowhere')}: No such file or directory\n`);
    t.match(r.status, { reason: 'exited', exitCode: 127 });
  });

  await t.test('a program that does not exist: exit 127 and why', async (t) => {
    const r = await l.run(join(root, 'd'), { kind: 'argv', argv: [join(root, 'no-such-program')] });
    t.match(r.output, /^outpost: cannot execute .*no-such-program: No such file or directory\n$/);
    t.match(r.status, { exitCode: 127 });
  });

  await t.test('the timeout is enforced by the supervisor: TERM, then the status says timeout', async (t) => {
    const r = await l.run(join(root, 'e'), { kind: 'command', command: 'echo started; exec sleep 30' }, { timeoutSeconds: 1 });
    t.equal(r.output, 'started\n');
    t.match(r.status, { reason: 'timeout', signal: 15, exitCode: null });
  });

  await t.test('output beyond maxOutputBytes is cut with one marker line; the job runs to its end', async (t) => {
    const r = await l.run(join(root, 'f'), { kind: 'command', command: 'i=0; while [ $i -lt 50 ]; do echo 0123456789; i=$((i+1)); done; exit 4' }, { maxOutputBytes: 25 });
    t.equal(r.output, '0123456789\n0123456789\n012\n[outpost: output cut at 25 bytes; maxOutputBytes]\n');
    t.match(r.status, { exitCode: 4, outputTruncated: true });
  });

  await t.test('SIGTERM to the supervisor is a cancel: the job gets TERM, the status says cancel', async (t) => {
    const dir = join(root, 'g');
    const inv = buildInvocation({ id: 'j1', kind: 'command', command: 'echo up; exec sleep 30' } as JobSpec, OPTIONS);
    const pid = await l.start(dir, { timeoutSeconds: 0, graceSeconds: 1, maxOutputBytes: 0, mode: inv.mode, payload: inv.payload, argv: inv.argv, switchAs: [] });
    for (let i = 0; i < 100 && !(await readFile(join(dir, 'output'), 'utf8').catch(() => '')).includes('up'); i++) await new Promise((r) => setTimeout(r, 20));
    process.kill(pid, 'SIGTERM');
    const r = await l.end(dir, pid);
    t.match(r.status, { reason: 'cancel', signal: 15 });
    t.match(await readFile(join(dir, 'signalled'), 'utf8'), /^TERM \d+/);
  });

  await t.test('stdin mode: become.pl reads the payload from stdin and execs the job (as under sudo/su)', async (t) => {
    const dir = join(root, 'h');
    const payload = ['', root, '1', 'echo "script sees $GREETING in $(pwd)"\n', 'GREETING', 'hello'].join('\0');
    const pid = await l.start(dir, { timeoutSeconds: 0, graceSeconds: 1, maxOutputBytes: 0, mode: 'stdin', payload, argv: ['perl', '-e', SHIM_MAIN, '--', '/bin/sh'], switchAs: [] });
    const r = await l.end(dir, pid);
    t.equal(r.output, `script sees hello in ${root}\n`);
    t.match(r.status, { reason: 'exited', exitCode: 0 });
  });

  await t.test('stdin mode with a bad directory: the shim says why and exits 127', async (t) => {
    const dir = join(root, 'i');
    const payload = ['', join(root, 'nowhere'), '-1', '', 'A', 'b'].join('\0');
    const pid = await l.start(dir, { timeoutSeconds: 0, graceSeconds: 1, maxOutputBytes: 0, mode: 'stdin', payload, argv: ['perl', '-e', SHIM_MAIN, '--', '/bin/echo', 'ran'], switchAs: [] });
    const r = await l.end(dir, pid);
    t.equal(r.output, `outpost: cannot change to directory ${join(root, 'nowhere')}: No such file or directory\n`);
    t.match(r.status, { exitCode: 127 });
  });
});

t.test('the status file is JSON whatever its strings hold (json_str of launcher.pl)', async (t) => {
  const source = readFileSync(new URL('../../agent/executors/local/launcher.pl', import.meta.url), 'utf8');
  const sub = /^sub json_str \{[\s\S]*?^\}$/m.exec(source)?.[0];
  t.ok(sub, 'launcher.pl has json_str');
  const nasty = 'quote " backslash \\ newline \n tab \t bell \u0007 del \u007f end';
  const r = spawnSync('perl', ['-e', `use strict; use warnings; ${sub ?? ''}\nbinmode STDOUT; print json_str($ARGV[0]);`, nasty], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(JSON.parse(r.stdout), nasty);
});
