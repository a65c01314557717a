/**
 * `outpost job run` over a small simulated fleet (two real agent + gateway pairs answering as 24 loopback
 * hosts, plus hosts that refuse connections and hosts that accept TCP but never answer TLS): per-host
 * output files, NDJSON streamed as hosts finish, failures grouped by cause, --max-failures, and unreachable
 * hosts given up after --connect-timeout.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPath, runOutpost } from '../fixtures/cli.js';
import { parseRunJson } from '../fixtures/ndjson.js';
import { startSimulatedFleet, type FleetHost } from '../fixtures/fleet.js';

const fleet = await startSimulatedFleet(t, { pairs: 2, up: 24, refusing: 2, silent: 2 });
const { env, hosts } = fleet;
const upHosts = hosts.filter((h) => h.kind === 'up');

t.test('--output-dir: a file per host, the terminal shows failures and the summary grouped by cause', async (t) => {
  const out = join(fleet.dir, 'out');
  const file = await fleet.agentsFile();
  const r = await runOutpost(['job', 'run', '--agents-file', file, '--concurrency', '64', '--connect-timeout', '2', '--output-dir', out,
    '--command', 'echo "from $OUTPOST_JOB_ID"; echo second line'], { env, timeoutMs: 120_000 });
  t.equal(r.code, 1, 'unreachable hosts make the run fail');
  t.equal(r.stdout, '', 'no job output on the terminal');
  const files = (await readdir(out)).sort();
  t.same(files, hosts.map((h) => h.name).sort(), 'one file per host, named for it');
  for (const h of upHosts) {
    t.match(await readFile(join(out, h.name), 'utf8'), /^from [a-z0-9-]+\nsecond line\n$/, `${h.name}: its own output`);
  }
  for (const h of hosts.filter((x) => x.kind !== 'up')) t.equal(await readFile(join(out, h.name), 'utf8'), '', `${h.name}: empty file`);
  t.equal((await stat(join(out, upHosts[0]?.name ?? ''))).mode & 0o777, 0o600, 'output files are private');
  t.equal((await stat(out)).mode & 0o777, 0o700, 'the directory is created private');
  t.notMatch(r.stderr, /submitted to/, 'no per-host submission notes');
  t.notMatch(r.stderr, /succeeded\s+0\s/, 'the table lists only the hosts that did not succeed');
  for (const h of hosts.filter((x) => x.kind === 'silent')) t.match(r.stderr, new RegExp(`^\\[${h.name}\\] unreachable: MASTER_CONNECT_TIMEOUT: `, 'm'), 'a failure is shown as it happens');
  t.match(r.stderr, /^ {2}2 hosts: MASTER_AGENT_UNREACHABLE \(h25, h26\)$/m);
  t.match(r.stderr, /^ {2}2 hosts: MASTER_CONNECT_TIMEOUT \(h27, h28\)$/m);
  t.match(r.stderr, /^28 hosts: 24 succeeded, 4 unreachable$/m);
  t.match(r.stderr, new RegExp(`output of each host: ${out}/<host>`));
});

t.test('--connect-timeout: silent hosts are given up when it ends, not after the 10 s default', async (t) => {
  const silent = hosts.filter((h) => h.kind === 'silent');
  const r = await runOutpost(['job', 'run', '--json', '--agents-file', await fleet.agentsFile(silent), '--connect-timeout', '1', '--', 'true'], { env });
  t.equal(r.code, 1);
  for (const h of parseRunJson(r.stdout).hosts) {
    t.match(h, { state: 'unreachable', error: { code: 'MASTER_CONNECT_TIMEOUT' } });
    t.ok(Number(h.durationMs) >= 1000 && Number(h.durationMs) < 10_000, `${String(h.host)} gave up after ${String(h.durationMs)} ms`);
  }
});

t.test('--json streams one line per host as it finishes, before slow hosts are done', async (t) => {
  const gate = join(fleet.dir, 'release');
  const slowAgent = fleet.stacks[1]?.agent.dataDir ?? '';
  // Hosts served by the second pair wait for the test's signal; the others finish at once.
  const command = `if [ -d "${slowAgent}/jobs/$OUTPOST_JOB_ID" ]; then while [ ! -e "${gate}" ]; do sleep 0.1; done; fi; echo done`;
  const file = await fleet.agentsFile(upHosts);
  const child = spawn(process.execPath, [cliPath, 'job', 'run', '--json', '--agents-file', file, '--concurrency', '64', '--command', command], {
    env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const fast = upHosts.filter((h) => h.stack === 0);
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const lines = stdout.split('\n').filter((l) => l !== '');
      if (lines.length >= fast.length) resolve();
    });
    child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
  });
  const early = stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; host: string; output: string; state: string });
  t.same(early.map((l) => l.host).sort(), fast.map((h) => h.name).sort(), 'the fast hosts are reported while the slow ones still run');
  t.ok(early.every((l) => l.type === 'host' && l.state === 'succeeded' && l.output === 'done\n'));
  await writeFile(gate, '');
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (c) => resolve(c));
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(code, 0, stderr);
  const doc = parseRunJson(stdout);
  t.equal(doc.hosts.length, upHosts.length, 'one line per host');
  t.match(doc.summary, { type: 'summary', ok: true, exitStatus: 0, hosts: upHosts.length, states: { succeeded: upHosts.length }, failures: [] });
  t.equal(stderr, '', 'nothing on stderr with --json');
});

t.test('--max-failures: stop submitting once N hosts failed; the rest are skipped and grouped', async (t) => {
  const some: FleetHost[] = upHosts.slice(0, 6);
  const file = await fleet.agentsFile(some);
  const r = await runOutpost(['job', 'run', '--json', '--agents-file', file, '--concurrency', '1', '--max-failures', '2', '--', 'sh', '-c', 'exit 3'], { env });
  t.equal(r.code, 1);
  const doc = parseRunJson(r.stdout);
  const submitted = doc.hosts.filter((h) => h.jobId !== null);
  t.equal(submitted.length, 2, 'only two jobs were submitted');
  t.ok(submitted.every((h) => h.state === 'failed' && h.exitCode === 3));
  const skipped = doc.hosts.filter((h) => h.state === 'skipped');
  t.equal(skipped.length, 4);
  t.ok(skipped.every((h) => (h.error as { code: string; message: string }).code === 'MASTER_NOT_STARTED' && /--max-failures 2/.test((h.error as { message: string }).message)));
  t.match(doc.summary, { stoppedEarly: true, failures: [{ key: 'MASTER_NOT_STARTED', count: 4 }, { key: 'failed (exit 3)', count: 2 }] });
  const text = await runOutpost(['job', 'run', '--agents-file', file, '--concurrency', '1', '--max-failures', '1', '--', 'sh', '-c', 'exit 3'], { env });
  t.match(text.stderr, /^ {2}5 hosts: MASTER_NOT_STARTED/m);
  t.match(text.stderr, /stopped submitting: --max-failures reached/);
});

t.test('an unwritable --output-dir is refused before any job is submitted', async (t) => {
  const blocker = join(fleet.dir, 'a-file');
  await writeFile(blocker, '');
  const r = await runOutpost(['job', 'run', '--agent', upHosts[0]?.url ?? '', '--output-dir', join(blocker, 'sub'), '--', 'true'], { env });
  t.equal(r.code, 1);
  t.match(r.stderr, /MASTER_OUTPUT_DIR_UNWRITABLE/);
});
