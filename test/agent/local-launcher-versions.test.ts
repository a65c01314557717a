/**
 * Format versions of the local executor's files and protocol: the launcher service's hello names its
 * protocol and an agent does not use a launcher of another one; the supervisor's status file names its
 * format, an old file (none) reads as before and a newer one is not guessed at.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launcherCommand, Launcher, parseHello } from '../../agent/executors/local/launcher.js';
import { readExitStatus } from '../../agent/executors/local/index.js';
import { LAUNCHER_PROTOCOL, STATUS_FORMAT } from '../../agent/executors/local/supervisor-source.js';
import { tempDir } from '../fixtures/cli.js';
import { waitFor } from '../fixtures/wait.js';

t.test('the hello line: pid and protocol; none announced reads as 1', async (t) => {
  t.same(parseHello('H 42 1'), { pid: 42, protocol: 1, text: '1' });
  t.match(parseHello('H 42'), { pid: 42, protocol: 1 }, 'a launcher from before the protocol version');
  t.match(parseHello('H 42 7'), { protocol: 7 });
  t.ok(Number.isNaN(parseHello('H 42 x').protocol), 'unreadable is never a match');
});

t.test('an agent refuses a launcher service of another protocol, once, and uses one of its own (or an older, unversioned one)', async (t) => {
  const dir = await tempDir(t, 'outpost-launcher-hello-');
  const path = join(dir, 'launcher.sock');
  const hellos = [`H 4242 ${LAUNCHER_PROTOCOL + 1}`, `H 4242 ${LAUNCHER_PROTOCOL + 1}`, 'H 4343'];
  const seen: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('data', (d) => seen.push(d.toString()));
    s.on('error', () => undefined);
    s.write(`${hellos.shift() ?? 'H 4343'}\n`);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const errors: string[] = [];
  const launcher = new Launcher('/usr/bin/perl', (err) => errors.push(err.message), path);
  launcher.start();
  t.teardown(() => launcher.close());
  await waitFor(() => errors.length > 0, 10_000, 'the refusal');
  t.match(errors[0], new RegExp(`speaks launcher protocol ${LAUNCHER_PROTOCOL + 1}, this agent speaks ${LAUNCHER_PROTOCOL}: restart outpost-launcher.service from the same Outpost release`));
  t.equal(launcher.pid, undefined, 'not used');
  await t.rejects(launcher.launch({ dir, output: join(dir, 'out'), timeoutSeconds: 0, graceSeconds: 1, mode: 'inline', payload: '', argv: ['/bin/true'], switchAs: [], maxOutputBytes: 0 }), /not connected/);
  // The agent keeps trying (the service may be restarted from the right release); the third hello is an
  // older launcher's, without a version.
  const pid = await waitFor(() => launcher.pid, 20_000, 'a compatible launcher');
  t.equal(pid, 4343);
  t.equal(errors.length, 1, `reported once, not on every reconnection: ${errors.join(' | ')}`);
  t.same(seen, [], 'nothing was sent to the incompatible launchers (or yet to this one)');
});

t.test('the real launcher service announces its protocol', { skip: process.platform !== 'linux' }, async (t) => {
  const dir = await tempDir(t, 'outpost-launcher-real-');
  const path = join(dir, 'launcher.sock');
  const { file, args } = launcherCommand('/usr/bin/perl', path);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGTERM'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await waitFor(() => out.includes('listening'), 10_000, 'the launcher service');
  const errors: string[] = [];
  const launcher = new Launcher('/usr/bin/perl', (err) => errors.push(err.message), path);
  launcher.start();
  t.teardown(() => launcher.close());
  t.equal(await waitFor(() => launcher.pid, 10_000, 'the hello'), child.pid);
  t.same(errors, []);
});

t.test('status files: without a version (older supervisors) and of this format are read; a newer one ends the job lost, saying why', async (t) => {
  const dir = await tempDir(t, 'outpost-status-file-');
  const write = async (name: string, body: Record<string, unknown>): Promise<string> => {
    const d = join(dir, name);
    await mkdir(d);
    await writeFile(join(d, 'status'), `${JSON.stringify({ reason: 'exited', exitCode: 3, signal: null, jobPid: 9, error: '', survivors: [], endedAt: 1_700_000_000, ...body })}\n`);
    return d;
  };
  t.match(readExitStatus(await write('old', {})), { reason: 'exited', exitCode: 3, endedAt: '2023-11-14T22:13:20.000Z' });
  t.match(readExitStatus(await write('current', { v: STATUS_FORMAT })), { reason: 'exited', exitCode: 3 });
  const newer = await write('newer', { v: STATUS_FORMAT + 1, exitCode: 0 });
  t.match(readExitStatus(newer, Date.parse('2026-01-01T00:00:00Z')), {
    reason: 'lost', exitCode: null, endedAt: '2026-01-01T00:00:00.000Z',
    message: new RegExp(`status file .*newer/status has format version ${STATUS_FORMAT + 1}, which this agent does not read \\(it reads ${STATUS_FORMAT} and older\\)`),
  });
  t.match(readExitStatus(await write('bad', { v: 'x' })), { reason: 'lost' }, 'an unreadable version is not guessed at either');
});
