import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { ATTACH, KILL, LAUNCH, commandLine, launchInput, remoteCommand, shq } from '../../agent/executors/ssh/remote-scripts.js';
import { parseEndLine, planJob, type JobPlan } from '../../agent/executors/ssh/job-plan.js';

const NASTY = ["it's", '$(touch /tmp/outpost-pwned)', '`id`', 'a;b', 'x && y', '*', '', ' lead', 'new\nline', '"q"', '\\', 'ünï', '--', '-n'];

t.test('shq: every value reaches the program as one verbatim argument through a real /bin/sh', async (t) => {
  const line = `printf '%s\\0' ${commandLine(NASTY)}`;
  const r = spawnSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.same(r.stdout.split('\0').slice(0, -1), NASTY);
  t.equal(shq("a'b"), `'a'\\''b'`);
  t.throws(() => shq('a\0b'));
});

t.test('remoteCommand adds sudo -n -H -u only when the job runs as another user', async (t) => {
  t.match(remoteCommand({ login: 'a', effective: 'a' }, 'echo', 'n', ['x']), /^exec '\/bin\/sh' '-c' 'echo' 'n' 'x'$/);
  t.match(remoteCommand({ login: 'a', effective: 'b' }, 'echo', 'n', []), /^exec 'sudo' '-n' '-H' '-u' 'b' '--' '\/bin\/sh' '-c'/);
});

t.test('remoteCommand runs the program in a plain-sh login shell directly, values still inert words', async (t) => {
  const program = `printf '%s\\0' "$@"`;
  const direct = remoteCommand({ login: 'a', effective: 'a', loginShell: '/bin/sh' }, program, 'n', NASTY);
  t.notMatch(direct, /^exec /, 'no second shell');
  // What sshd does: the login shell gets the whole command line after -c.
  const r = spawnSync('/bin/sh', ['-c', direct], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.same(r.stdout.split('\0').slice(0, -1), NASTY);
  t.equal(spawnSync('test', ['-e', '/tmp/outpost-pwned']).status, 1, 'no argument was run as shell code');
  t.match(remoteCommand({ login: 'a', effective: 'a', loginShell: '/bin/bash' }, 'echo', 'n', []), /^exec '\/bin\/sh' '-c'/, 'any other shell: exec sh');
  t.match(remoteCommand({ login: 'a', effective: 'a', loginShell: '/usr/bin/fish' }, 'echo', 'n', []), /^exec '\/bin\/sh' '-c'/);
  t.match(remoteCommand({ login: 'a', effective: 'b', loginShell: '/bin/sh' }, 'echo', 'n', []), /^exec 'sudo'/, 'another user: sudo as before');
});

/** Runs LAUNCH for a plan as the executor does: parameters and script on stdin. */
function launch(home: string, id: string, plan: JobPlan): { stdout: string; stderr: string; status: number | null } {
  const { args, stdin } = launchInput(plan);
  return sh(home, LAUNCH, [id, ...args], stdin);
}

/** Runs a wrapper program locally as /bin/sh would on the target, with HOME pointing at a temp dir. */
function sh(home: string, program: string, args: string[], input = ''): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('/bin/sh', ['-c', program, 'outpost-test', ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, input, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

t.test('the wrapper launches detached, follows output and reports the exit status and size', async (t) => {
  const home = await tempDir(t);
  const plan = planJob({ id: 'job-a', kind: 'argv', argv: ['printf', '%s|', ...NASTY], env: { GREETING: "hello 'world'" } }, [], 's');
  const r = launch(home, 'job-a', plan);
  t.equal(r.stdout, NASTY.map((a) => `${a}|`).join(''), 'arguments arrive verbatim');
  const end = parseEndLine(r.stderr);
  t.same(end, { state: 0, size: null });
  t.equal(await readFile(join(home, '.outpost', 'jobs', 'job-a.out'), 'utf8'), r.stdout, 'the file has what the channel got');
  t.match(r.stderr, /^outpost-started \d+$/m);
  t.equal(spawnSync('test', ['-e', '/tmp/outpost-pwned']).status, 1, 'no argument was run as shell code');

  const again = launch(home, 'job-a', plan);
  t.equal(again.status, 91, 'an existing job id is refused');
  t.match(again.stderr, /outpost-error job files for job-a already exist/);

  const script = planJob({ id: 'job-b', kind: 'script', script: 'echo "$GREETING [$1] $(pwd)"; exit 4', args: ['a b'], env: { GREETING: 'hi' }, cwd: '/tmp' }, [], 's');
  const s = launch(home, 'job-b', script);
  t.equal(s.stdout, 'hi [a b] /tmp\n');
  t.equal(parseEndLine(s.stderr)?.state, 4);
  // Files are private to the user.
  const files = await readdir(join(home, '.outpost', 'jobs'));
  t.ok(files.includes('job-b.exit') && files.includes('job-b.pid') && files.includes('job-b.script'));

  // loginProfile: the job runs under a login shell that read ~/.profile first.
  await writeFile(join(home, '.profile'), 'export FROM_PROFILE=yes\n');
  const prof = planJob({ id: 'job-p', kind: 'argv', argv: ['/bin/sh', '-c', 'echo "profile=$FROM_PROFILE"'], loginProfile: true }, [], 's');
  t.equal(launch(home, 'job-p', prof).stdout, 'profile=yes\n');
  const noProf = planJob({ id: 'job-q', kind: 'argv', argv: ['/bin/sh', '-c', 'echo "profile=$FROM_PROFILE"'] }, [], 's');
  t.equal(launch(home, 'job-q', noProf).stdout, 'profile=\n');

  // A script shorter than announced (the connection dropped mid-upload) is removed, never run.
  const cut = planJob({ id: 'job-d', kind: 'script', script: `touch ${home}/cut-ran\n# more` }, [], 's');
  const input = launchInput(cut);
  input.args[3] = String(Number(input.args[3]) + 100);
  const d = sh(home, LAUNCH, ['job-d', ...input.args], input.stdin);
  t.equal(d.status, 92);
  t.match(d.stderr, /the script arrived incomplete/);
  t.equal(spawnSync('test', ['-e', `${home}/cut-ran`]).status, 1, 'the partial script did not run');
  t.notOk((await readdir(join(home, '.outpost', 'jobs'))).some((f) => f.startsWith('job-d')), 'and its files are gone');

  // Parameters cut short are refused too; the job's environment cannot change the wrapper's own variables.
  const cutParams = launchInput(planJob({ id: 'job-e', kind: 'argv', argv: ['touch', `${home}/params-ran`] }, [], 's'));
  const e = sh(home, LAUNCH, ['job-e', ...cutParams.args], cutParams.stdin.slice(0, -3));
  t.equal(e.status, 92);
  t.match(e.stderr, /parameters arrived incomplete/);
  t.equal(spawnSync('test', ['-e', `${home}/params-ran`]).status, 1);
  const clash = planJob({ id: 'job-f', kind: 'command', command: 'echo "$b $id $p $HOME"', env: { b: '/tmp', id: 'other', p: 'x', HOME: '/nowhere' } }, [], 's');
  const f = launch(home, 'job-f', clash);
  t.equal(f.stdout, '/tmp other x /nowhere\n');
  t.equal(parseEndLine(f.stderr)?.state, 0, 'the exit status is recorded where it belongs');
  t.notOk((await readdir(join(home, '.outpost', 'jobs'))).some((n) => n.endsWith('.params')), 'no parameter file is left');

  const bad = planJob({ id: 'job-c', kind: 'command', command: 'echo no', cwd: '/nonexistent/dir' }, [], 's');
  const c = launch(home, 'job-c', bad);
  t.equal(parseEndLine(c.stderr)?.state, 126);
  t.match(c.stdout, /cannot change directory to \/nonexistent\/dir/);
});

t.test('attach resumes from an offset; kill ends the whole session and its descendants', async (t) => {
  const home = await tempDir(t);
  // Sleep lengths unique to this run, so other processes on the machine never count.
  const base = 1000 + Math.floor(Math.random() * 8000) * 3;
  const plan = planJob({ id: 'job-k', kind: 'command', command: `echo one; (sleep ${base}; echo never) & setsid sleep ${base + 1} & sleep ${base + 2}; echo never` }, [], 's');
  // detached: its own session and process group, as sshd gives every exec.
  const input = launchInput(plan);
  const launch = spawn('/bin/sh', ['-c', LAUNCH, 'outpost-test', 'job-k', ...input.args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, detached: true });
  launch.stdin.end(input.stdin);
  t.teardown(() => launch.kill('SIGKILL'));
  let out = '';
  let err = '';
  launch.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  launch.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ended = new Promise((r) => launch.once('close', r));
  for (let i = 0; i < 100 && out !== 'one\n'; i++) await new Promise((res) => setTimeout(res, 50));
  t.equal(out, 'one\n', 'the launch channel streams while the job runs');
  const [pid, pg, sid] = (await readFile(join(home, '.outpost', 'jobs', 'job-k.pid'), 'utf8')).trim().split(' ').map(Number);
  t.ok(pid && pg && sid, 'runner pid, process group and session are recorded');
  const a = sh(home, ATTACH, ['job-k', '2', '1', '0.1']);
  t.equal(a.stdout, 'e\n', 'output from byte 2 on');
  t.same(parseEndLine(a.stderr), { state: 'running', size: 4 });

  const members = (): string[] =>
    spawnSync('ps', ['-A', '-o', 'pid=,sid=,args='], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => new RegExp(` sleep (${base}|${base + 1}|${base + 2})$`).test(l));
  t.equal(members().length, 3, 'three sleeps, one of them in its own session');
  const k = sh(home, KILL, ['job-k', 'KILL']);
  t.match(k.stderr, /outpost-signalled/);
  for (let i = 0; i < 50 && members().length; i++) await new Promise((res) => setTimeout(res, 100));
  t.same(members(), [], 'group, session and escaped descendants are gone');
  await ended;
  t.notMatch(err, /outpost-end \d/, 'no exit status for a killed job');
  const after = sh(home, ATTACH, ['job-k', '4', '1', '0.1']);
  t.same(parseEndLine(after.stderr), { state: 'gone', size: 4 }, 'killed: no exit status');
  t.equal(sh(home, ATTACH, ['job-nope', '0', '1', '0.1']).status, 93);
});
