/**
 * The remote launcher's Perl program run locally through a pipe, as sshd would run it on a target, with
 * HOME pointing at a temp dir: requests in, frames out, and the job files ATTACH/KILL rely on.
 */
import t from 'tap';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { LAUNCHER_ARGS } from '../../agent/executors/ssh/launcher-source.js';
import { FRAME_MAX, FrameParser, LauncherProtocolError, encodeRequest, type Frame } from '../../agent/executors/ssh/launcher-protocol.js';
import { parseEndLine, planJob } from '../../agent/executors/ssh/job-plan.js';
import { ATTACH, KILL } from '../../agent/executors/ssh/remote-scripts.js';
import type { JobSpec } from '../../agent/executors/executor.js';

const NASTY = ["it's", '$(touch /tmp/outpost-pwned)', '`id`', 'a;b', '*', '', ' lead', 'new\nline', '"q"', '\\', 'ünï', '--', '-n', 'x y'];

class Launcher {
  readonly frames: Frame[] = [];
  private readonly waiters: (() => void)[] = [];
  readonly child: ChildProcessWithoutNullStreams;

  constructor(readonly home: string) {
    this.child = spawn('perl', [...LAUNCHER_ARGS], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
    const parser = new FrameParser();
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.frames.push(...parser.push(chunk));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async next<T extends Frame['type']>(type: T, id?: string): Promise<Extract<Frame, { type: T }>> {
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type && (id === undefined || ('id' in f && f.id === id)));
      if (i >= 0) return this.frames.splice(i, 1)[0] as Extract<Frame, { type: T }>;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Runs one job to its end: its pid, output frames joined, and the end frame. */
  async run(spec: Omit<JobSpec, 'id'>, id: string): Promise<{ pid: number; output: string; end: Extract<Frame, { type: 'ended' }> }> {
    this.child.stdin.write(encodeRequest(id, planJob({ id, ...spec } as JobSpec, ['/bin/sh'], 'test')));
    const { pid } = await this.next('started', id);
    const end = await this.next('ended', id);
    const output = Buffer.concat(
      this.frames.filter((f): f is Extract<Frame, { type: 'output' }> => f.type === 'output' && f.id === id).map((f) => f.chunk),
    ).toString('utf8');
    return { pid, output, end };
  }
}

/** Adjacent output pieces of one job joined, as the job's file would get them. */
function joinOutput(frames: readonly Frame[]): Frame[] {
  const out: Frame[] = [];
  for (const f of frames) {
    const last = out.at(-1);
    if (f.type === 'output' && last?.type === 'output' && last.id === f.id) out[out.length - 1] = { ...last, chunk: Buffer.concat([last.chunk, f.chunk]) };
    else out.push(f);
  }
  return out;
}

const perl = spawnSync('perl', ['-e', 'use POSIX; print 1']).stdout?.toString() === '1';

t.test('FrameParser: frames split anywhere come out whole; garbage is an error', async (t) => {
  const wire = Buffer.concat([Buffer.from('V 1\nS a 12\nO a 5\n'), Buffer.from('he\nl\x00'), Buffer.from('X a 0 5\nE b x6869\n')]);
  for (const size of [1, 2, 3, 7, wire.length]) {
    const p = new FrameParser();
    const frames: Frame[] = [];
    for (let i = 0; i < wire.length; i += size) frames.push(...p.push(wire.subarray(i, i + size)));
    t.same(joinOutput(frames), [
      { type: 'ready', version: 1 },
      { type: 'started', id: 'a', pid: 12 },
      { type: 'output', id: 'a', chunk: Buffer.from('he\nl\x00') },
      { type: 'ended', id: 'a', state: 0, size: 5 },
      { type: 'refused', id: 'b', message: 'hi' },
    ], `chunks of ${size}`);
  }
  t.throws(() => new FrameParser().push(Buffer.from('rm -rf /\n')), LauncherProtocolError);
  t.throws(() => new FrameParser().push(Buffer.alloc(5000, 'a')), LauncherProtocolError);
  const split = new FrameParser();
  t.same(split.push(Buffer.alloc(3000, 'a')), []);
  t.throws(() => split.push(Buffer.alloc(3000, 'a')), LauncherProtocolError, 'an overlong line in pieces too');
});

t.test('FrameParser: an output frame is handed on as it arrives, and a bogus size is refused at its header', async (t) => {
  const p = new FrameParser();
  t.same(p.push(Buffer.from(`S a 1\nO a ${FRAME_MAX}\n`)), [{ type: 'started', id: 'a', pid: 1 }]);
  // Nothing is held back waiting for the whole frame: memory stays at one chunk whatever the frame size.
  for (let sent = 0; sent < FRAME_MAX; sent += 65536) {
    const out = p.push(Buffer.alloc(65536, 'x'));
    t.equal(out.length, 1);
    if (out[0]?.type !== 'output' || out[0].chunk.length !== 65536) t.fail(`piece at ${sent} not passed on`);
  }
  t.same(p.push(Buffer.from('X a 0 1\n')), [{ type: 'ended', id: 'a', state: 0, size: 1 }], 'back to lines after the frame');
  t.throws(() => new FrameParser().push(Buffer.from(`O a ${FRAME_MAX + 1}\n`)), { name: 'LauncherProtocolError', message: /output frame/ });
  t.throws(() => new FrameParser().push(Buffer.from('O a 99999999999999999999\n')), LauncherProtocolError);
  t.same(new FrameParser().push(Buffer.from('O a 0\nX a 0 0\n')), [{ type: 'ended', id: 'a', state: 0, size: 0 }], 'an empty frame is nothing');
});

t.test('encodeRequest: every value is hex, so a request is always one line of safe words', async (t) => {
  const line = encodeRequest('j-1', planJob({ id: 'j-1', kind: 'argv', argv: ['printf', ...NASTY], env: { A: 'x\ny' }, cwd: '/tmp' }, [], 's'));
  t.match(line, /^R j-1 - x2f746d70 - 1 x[0-9a-f]+( x[0-9a-f]*)+\n$/);
  t.equal(line.split('\n').length, 2);
});

t.test('the launcher runs jobs with verbatim arguments, streams output and records the job files', { skip: perl ? false : 'perl not installed' }, async (t) => {
  const home = await tempDir(t);
  const l = new Launcher(home);
  t.teardown(() => l.child.kill('SIGKILL'));
  t.same(await l.next('ready'), { type: 'ready', version: 1 });

  const a = await l.run({ kind: 'argv', argv: ['printf', '%s|', ...NASTY], env: { GREETING: "hello 'world'" } }, 'job-a');
  t.equal(a.output, NASTY.map((x) => `${x}|`).join(''), 'arguments arrive verbatim');
  t.same({ state: a.end.state, size: a.end.size }, { state: 0, size: Buffer.byteLength(a.output) });
  t.equal(spawnSync('test', ['-e', '/tmp/outpost-pwned']).status, 1, 'no argument was run as shell code');
  const jobs = join(home, '.outpost', 'jobs');
  t.equal(await readFile(join(jobs, 'job-a.out'), 'utf8'), a.output);
  t.equal(await readFile(join(jobs, 'job-a.pid'), 'utf8'), `${a.pid} ${a.pid} ${a.pid} 0\n`, 'job pid = its group = its session, then the exit status');
  t.equal((await stat(join(jobs, 'job-a.out'))).mode & 0o777, 0o600);
  t.equal((await stat(jobs)).mode & 0o777, 0o700);

  const env = await l.run({ kind: 'command', command: 'echo "$GREETING [$(pwd)]"; echo err >&2; exit 3', env: { GREETING: 'hi' }, cwd: '/tmp' }, 'job-b');
  t.equal(env.output, 'hi [/tmp]\nerr\n');
  t.equal(env.end.state, 3);

  const script = await l.run({ kind: 'script', script: 'echo "script [$1] $0"; exit 4', args: ['a b'] }, 'job-c');
  t.equal(script.output, `script [a b] ${join(jobs, 'job-c.script')}\n`);
  t.equal(script.end.state, 4);

  t.equal((await l.run({ kind: 'argv', argv: ['/nonexistent/program'] }, 'job-d')).end.state, 127);
  const cd = await l.run({ kind: 'argv', argv: ['true'], cwd: '/nonexistent/dir' }, 'job-e');
  t.same([cd.end.state, cd.output], [126, 'outpost: cannot change directory to /nonexistent/dir\n']);
  const killed = await l.run({ kind: 'command', command: 'kill -KILL $$' }, 'job-f');
  t.equal(killed.end.state, 137, 'a job killed by a signal reports 128 + n, as sh does');

  l.child.stdin.write(encodeRequest('job-a', planJob({ id: 'job-a', kind: 'argv', argv: ['true'] }, [], 's')));
  t.match(await l.next('refused', 'job-a'), { message: /job files for job-a already exist/ }, 'an existing id is refused');
  l.child.stdin.write('R ../../etc x - 0 x74727565\nrm -rf /\n');
  t.match(await l.next('refused', '-'), { message: 'malformed request' });
  t.match(await l.next('refused', '-'), { message: 'unknown request' });

  // A long job streams while it runs (not only at its end).
  l.child.stdin.write(encodeRequest('job-g', planJob({ id: 'job-g', kind: 'command', command: 'echo first; sleep 1; echo second' }, ['/bin/sh'], 's')));
  t.match(await l.next('output', 'job-g'), { chunk: Buffer.from('first\n') });
  t.notOk(l.frames.some((f) => f.type === 'ended' && f.id === 'job-g'), 'first line came before the end');
  t.match(await l.next('ended', 'job-g'), { state: 0, size: 13 });
});

t.test('the channel closed mid-job: the launcher stays until the job has ended, records its status, then leaves', { skip: perl ? false : 'perl not installed' }, async (t) => {
  const home = await tempDir(t);
  const l = new Launcher(home);
  await l.next('ready');
  l.child.stdin.write(encodeRequest('job-h', planJob({ id: 'job-h', kind: 'command', command: 'sleep 0.5; echo done; exit 5' }, ['/bin/sh'], 's')));
  await l.next('started', 'job-h');
  l.child.stdin.end();
  const code = await new Promise((r) => l.child.once('exit', r));
  t.equal(code, 0);
  const jobs = join(home, '.outpost', 'jobs');
  t.match(await readFile(join(jobs, 'job-h.pid'), 'utf8'), /^(\d+) \1 \1 5\n$/);
  t.equal(await readFile(join(jobs, 'job-h.out'), 'utf8'), 'done\n');
});

t.test('ATTACH and KILL work on launcher jobs: status from the pid file, the whole tree killed', { skip: perl ? false : 'perl not installed' }, async (t) => {
  const home = await tempDir(t);
  const l = new Launcher(home);
  t.teardown(() => l.child.kill('SIGKILL'));
  await l.next('ready');
  const sh = (program: string, args: string[]) =>
    spawnSync('/bin/sh', ['-c', program, 'outpost-test', ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, encoding: 'utf8' });

  const done = await l.run({ kind: 'command', command: 'echo hello; exit 3' }, 'job-i');
  const a = sh(ATTACH, ['job-i', '2', '1', '0.1']);
  t.equal(a.stdout, 'llo\n', 'output from byte 2 on');
  t.same(parseEndLine(a.stderr), { state: 3, size: 6 }, 'the status the launcher recorded');
  t.equal(done.end.state, 3);

  const base = 1000 + Math.floor(Math.random() * 8000) * 3;
  l.child.stdin.write(encodeRequest('job-k', planJob({ id: 'job-k', kind: 'command', command: `echo one; (sleep ${base}) & setsid sleep ${base + 1} & sleep ${base + 2}` }, ['/bin/sh'], 's')));
  await l.next('output', 'job-k');
  const members = (): string[] =>
    spawnSync('ps', ['-A', '-o', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter((line) => new RegExp(`^sleep (${base}|${base + 1}|${base + 2})$`).test(line));
  t.equal(members().length, 3);
  t.same(parseEndLine(sh(ATTACH, ['job-k', '4', '1', '0.1']).stderr), { state: 'running', size: 4 });
  t.match(sh(KILL, ['job-k', 'KILL']).stderr, /outpost-signalled/);
  t.match(await l.next('ended', 'job-k'), { state: 137 }, 'killed by SIGKILL: 128 + 9');
  for (let i = 0; i < 50 && members().length; i++) await new Promise((res) => setTimeout(res, 100));
  t.same(members(), [], 'group, session and escaped descendants are gone');
  t.same(parseEndLine(sh(ATTACH, ['job-k', '4', '1', '0.1']).stderr), { state: 137, size: 4 });
});
