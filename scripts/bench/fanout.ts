/**
 * `npm run bench:fanout`: a trivial job (`true`) on N hosts, N = 10 and 20, at several concurrency levels.
 *   outpost: N real agent + gateway pairs, gateways on 127.0.0.2 … 127.0.0.(N+1), one
 *            `outpost job run --agents-file F --concurrency C -- true` (mutual TLS to every gateway, submit,
 *            follow output, final state);
 *   ssh:     the baseline, measured in the same run: N real sshd on the same loopback addresses, and the
 *            same command run as `ssh -p PORT user@ADDR true`, C at a time (xargs -P C).
 * Each cell is the median of 3 runs; per-host = wall / N. Writes bench-results/fanout.json.
 */
// First: --node re-runs this bench under another Node before anything else is loaded (runtime.ts).
import './runtime.js';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, isRoot, repoRoot } from '../../test/fixtures/cli.js';
import { createSharedPki, startStack, type Stack } from '../../test/fixtures/stack.js';
import { createSshUser, sshdSkipReason, startSshd, type TestSshd } from '../../test/fixtures/sshd.js';

const SIZES = [10, 20];
const REPS = 3;
const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };

function timeCommand(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ ms: number; code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, err }));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const max = Math.max(...SIZES);
  const work = await mkdtemp(join(tmpdir(), 'outpost-bench-fanout-'));
  teardowns.push(() => rm(work, { recursive: true, force: true }));
  process.stdout.write(`starting ${max} agent + gateway pairs on 127.0.0.2-127.0.0.${max + 1} …\n`);
  const shared = await createSharedPki(t, work);
  const stacks: Stack[] = [];
  for (let i = 0; i < max; i += 4) {
    const batch = Array.from({ length: Math.min(4, max - i) }, (_, k) => startStack(t, { host: `127.0.0.${i + k + 2}`, shared, agentConfig: { maxConcurrentJobs: 4 } }));
    stacks.push(...(await Promise.all(batch)));
  }

  const skipSsh = sshdSkipReason();
  const sshds: TestSshd[] = [];
  let sshUser = '';
  let sshKey = '';
  if (!skipSsh) {
    process.stdout.write(`starting ${max} sshd on the same addresses …\n`);
    const user = await createSshUser(t, 'bench-fanout', work, { passphrase: '' });
    sshUser = user.name;
    sshKey = user.privateKeyPath;
    for (let i = 0; i < max; i++) {
      const d = await startSshd(t, { host: `127.0.0.${i + 2}`, maxSessions: 50 });
      sshds.push(d);
    }
  }

  interface Row { n: number; concurrency: number; outpostMs: number; sshMs: number | null; ratio: number | null }
  const rows: Row[] = [];
  const env = stacks[0]?.env ?? {};
  for (const n of SIZES) {
    const agentsFile = join(work, `agents-${n}.txt`);
    await writeFile(agentsFile, stacks.slice(0, n).map((s) => s.url).join('\n') + '\n');
    const sshTargets = join(work, `ssh-${n}.txt`);
    await writeFile(sshTargets, sshds.slice(0, n).map((d) => `${d.host} ${d.port} ${d.knownHostsFile}`).join('\n') + '\n');
    for (const c of [...new Set([5, 10, n])].filter((c) => c <= n)) {
      const outpostRuns: number[] = [];
      const sshRuns: number[] = [];
      for (let r = 0; r < REPS; r++) {
        const o = await timeCommand(process.execPath, [cliPath, 'job', 'run', '--json', '--agents-file', agentsFile, '--concurrency', String(c), '--', 'true'], env);
        if (o.code !== 0) throw new Error(`outpost job run failed (${o.code}): ${o.err}`);
        outpostRuns.push(o.ms);
        if (!skipSsh) {
          // Each line: host port known_hosts. BatchMode: a prompt would be a failure, not a hang.
          const script = `xargs -P ${c} -L 1 sh -c 'exec ssh -q -i "$0" -p "$2" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$3" -o ControlMaster=no ${sshUser}@"$1" true' ${sshKey} < ${sshTargets}`;
          const s = await timeCommand('sh', ['-c', script]);
          if (s.code !== 0) throw new Error(`ssh baseline failed (${s.code}): ${s.err}`);
          sshRuns.push(s.ms);
        }
      }
      const outpostMs = median(outpostRuns);
      const sshMs = skipSsh ? null : median(sshRuns);
      rows.push({ n, concurrency: c, outpostMs, sshMs, ratio: sshMs ? outpostMs / sshMs : null });
      process.stdout.write(`  N=${n} C=${c}: outpost ${outpostMs.toFixed(0)} ms, ssh ${sshMs?.toFixed(0) ?? 'n/a'} ms\n`);
    }
  }

  const fmt = (ms: number | null): string => (ms === null ? 'n/a' : `${ms.toFixed(0)} ms`);
  const header = ['N', 'concurrency', 'outpost wall', 'per host', 'ssh wall (baseline)', 'per host', 'outpost/ssh'];
  const table = rows.map((r) => [String(r.n), String(r.concurrency), fmt(r.outpostMs), fmt(r.outpostMs / r.n), fmt(r.sshMs), r.sshMs === null ? 'n/a' : fmt(r.sshMs / r.n), r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  process.stdout.write(`\nfan-out of \`true\` (median of ${REPS}; outpost = one CLI process, mTLS to N gateways; ssh = N processes)\n`);
  process.stdout.write(`${line(header)}\n${table.map(line).join('\n')}\n`);
  if (skipSsh) process.stdout.write(`ssh baseline skipped: ${skipSsh}\n`);
  await mkdir(join(repoRoot, 'bench-results'), { recursive: true });
  await writeFile(join(repoRoot, 'bench-results', 'fanout.json'), `${JSON.stringify({
    bench: 'fanout', date: new Date().toISOString(), node: process.version, root: isRoot, reps: REPS, job: 'true', rows, sshSkipped: skipSsh,
  }, null, 2)}\n`);
  process.stdout.write('wrote bench-results/fanout.json\n');
}

async function cleanup(): Promise<void> {
  for (const fn of teardowns.reverse()) await Promise.resolve().then(fn).catch(() => undefined);
}

const deadline = setTimeout(() => {
  process.stderr.write('bench:fanout exceeded 3 minutes; stopping\n');
  void cleanup().then(() => process.exit(1));
}, 180_000);
main().then(
  async () => {
    clearTimeout(deadline);
    await cleanup();
    process.exit(0);
  },
  async (err: unknown) => {
    clearTimeout(deadline);
    process.stderr.write(`bench:fanout failed: ${(err as Error).stack ?? String(err)}\n`);
    await cleanup();
    process.exit(1);
  },
);
