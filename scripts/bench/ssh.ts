/**
 * `npm run bench:ssh`: remote jobs per second for a trivial command (`true`) against a real loopback sshd,
 * measured in one run:
 *   - Outpost's SSH executor (ssh2, pooled connections, the remote launcher starting detached runners,
 *     output file, exit status), in-process and through `outpost agent start`,
 *   - the OpenSSH client with a fresh connection per command,
 *   - the OpenSSH client multiplexed over a ControlMaster connection,
 * one at a time and 8 in flight, then a fan-out of 100 jobs over 5 targets (sshd on 127.0.0.1–5).
 * Prints a table with the ratios and writes bench-results/ssh.json. Needs root (test user, sshd).
 */
// First: --node re-runs this bench under another Node before anything else is loaded (runtime.ts).
import './runtime.js';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSshUser, sshdSkipReason, startSshd, staticCredentials, type TestSshd } from '../../test/fixtures/sshd.js';
import { createLogger } from '../../core/logger.js';
import { createSshExecutor, type SshExecutor } from '../../agent/executors/ssh/index.js';
import { SshPool } from '../../agent/executors/ssh/connection-pool.js';
import { fingerprintPolicy } from '../../agent/executors/ssh/host-key.js';
import { startAgentProcess } from '../../test/fixtures/agent.js';
import { runOutpost } from '../../test/fixtures/cli.js';
import { Writable } from 'node:stream';
import http from 'node:http';
import { postJob, watchJobEvents } from './agent-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const skip = sshdSkipReason();
if (skip) {
  console.log(`bench:ssh skipped: ${skip}`);
  process.exit(0);
}

const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
const dir = await mkdtemp(join(tmpdir(), 'ot-bench-ssh-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

async function pool(n: number, concurrency: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await one(i);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

try {
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const servers: TestSshd[] = await Promise.all(hosts.map((host) => startSshd(t, { host })));
  // An unencrypted key so the OpenSSH client needs no agent; ssh2 gets the same key.
  const user = await createSshUser(t, 'bench', dir, { passphrase: '' });
  const knownHosts = join(dir, 'known_hosts');
  const { readFile } = await import('node:fs/promises');
  await writeFile(knownHosts, (await Promise.all(servers.map((s) => readFile(s.knownHostsFile, 'utf8')))).join(''));
  const sshArgs = (s: TestSshd) => [
    '-p', String(s.port), '-i', user.privateKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'LogLevel=ERROR', '-l', user.name,
  ];
  const fresh = (s: TestSshd) => run('ssh', [...sshArgs(s), '-o', 'ControlMaster=no', '-o', 'ControlPath=none', s.host, 'true']);
  const controlPath = (s: TestSshd) => join(dir, `cm-${s.host}`);
  for (const s of servers) {
    await run('ssh', [...sshArgs(s), '-o', 'ControlMaster=yes', '-o', `ControlPath=${controlPath(s)}`, '-o', 'ControlPersist=yes', '-fN', s.host]);
    t.teardown(() => run('ssh', ['-o', `ControlPath=${controlPath(s)}`, '-O', 'exit', s.host]).catch(() => undefined));
  }
  const muxed = (s: TestSshd) => run('ssh', [...sshArgs(s), '-o', `ControlPath=${controlPath(s)}`, s.host, 'true']);

  const credentials = staticCredentials({ key: { user: user.name, privateKey: user.privateKey } });
  const logger = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
  const outDir = join(dir, 'out');
  await mkdir(outDir);
  const executors: SshExecutor[] = servers.map((s, i) =>
    createSshExecutor(
      { name: `t${i}`, remoteHostName: s.host, port: s.port, hostKey: s.fingerprint, credentialKey: 'key', interpreterWhitelist: [] },
      { credentials, logger, dataDir: dir },
    ),
  );
  t.teardown(() => Promise.all(executors.map((e) => e.close())));
  let seq = 0;
  const outpost = async (e: SshExecutor): Promise<void> => {
    const id = `bench-${process.pid}-${++seq}`;
    const exec = await e.start({ id, kind: 'argv', argv: ['true'] }, { dir: outDir, output: join(outDir, id) });
    const exit = await exec.done;
    if (exit.exitCode !== 0) throw new Error(`bench job failed: ${JSON.stringify(exit)}`);
  };
  const [first] = servers;
  const [ex0] = executors;
  if (!first || !ex0) throw new Error('no target');
  // Warm-up: connections established, key parsed, caches hot, and the pools grown to what a 100-job
  // fan-out needs (ControlMaster's connections are likewise up before it is measured).
  const spread = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;
  await pool(16, 8, () => outpost(ex0));
  await pool(100, 100, (i) => outpost(spread(executors, i)));

  // Reference only: a bare ssh2 exec of `true` on the same pooled connection (one channel per command, as
  // the per-job wrapper uses), no wrapper, no files.
  const raw = new SshPool({
    name: 'raw', host: first.host, port: first.port, hostKeys: fingerprintPolicy(first.fingerprint),
    login: async () => ({ username: user.name, privateKey: user.privateKey }), maxSessions: 10, maxConnections: 1,
    logger, onConnect: () => undefined, onError: () => undefined,
  });
  t.teardown(() => raw.close());
  await raw.exec('true');

  // Through the agent: `outpost agent start` with the 5 targets as process servers, jobs over its HTTP API.
  // Logging at warn, as bench:agent runs the agent: both measure dispatch, not log output (on a quiet
  // machine info and warn measured the same, within the run-to-run noise).
  const agent = await startAgentProcess(t, {
    logLevel: 'warn',
    config: {
      maxConcurrentJobs: 100,
      logLevel: 'error',
      processServers: servers.map((s, i) => ({ name: `t${i}`, remoteHostName: s.host, port: s.port, hostKey: s.fingerprint, credentialKey: 'bench', interpreterWhitelist: ['/bin/sh'] })),
    },
  });
  const added = await runOutpost(['agent', 'credentials', 'add', 'bench', '--user', user.name, '--private-key', user.privateKeyPath, '--config', agent.configPath]);
  if (added.code !== 0) throw new Error(`credentials add failed: ${added.stderr}`);
  const { socket } = agent;
  if (!socket) throw new Error('the bench agent listens on a Unix socket');
  const events = await watchJobEvents(socket);
  t.teardown(() => events.close());
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 100 });
  t.teardown(() => keepAlive.destroy());
  const submit = async (body: unknown): Promise<string> => {
    const res = await postJob(socket, keepAlive, body);
    if (res.status !== 201) throw new Error(`submit: ${res.status} ${res.text}`);
    return (JSON.parse(res.text) as { id: string }).id;
  };
  const viaAgent = async (n: number, concurrency: number, target: (i: number) => string): Promise<number> =>
    pool(n, concurrency, async (i) => {
      const id = await submit({ argv: ['true'], processServer: target(i) });
      const state = await events.done(id);
      if (state !== 'succeeded') throw new Error(`agent job ${id} ended ${state}: ${(await agent.request('GET', `/v1/jobs/${id}`)).text}`);
    });
  await viaAgent(16, 8, () => 't0');
  await viaAgent(100, 100, (i) => `t${i % 5}`);

  const rows: { name: string; outpost: number; agent: number; raw: number; fresh: number; control: number }[] = [];
  console.log('measuring (jobs/s)…');
  rows.push({
    name: 'one target, 1 in flight',
    outpost: await pool(100, 1, () => outpost(ex0)),
    agent: await viaAgent(100, 1, () => 't0'),
    raw: await pool(100, 1, () => raw.exec('true').then(() => undefined)),
    fresh: await pool(12, 1, () => fresh(first)),
    control: await pool(60, 1, () => muxed(first)),
  });
  rows.push({
    name: 'one target, 8 in flight',
    outpost: await pool(240, 8, () => outpost(ex0)),
    agent: await viaAgent(240, 8, () => 't0'),
    raw: await pool(240, 8, () => raw.exec('true').then(() => undefined)),
    fresh: await pool(24, 8, () => fresh(first)),
    control: await pool(120, 8, () => muxed(first)),
  });
  rows.push({
    name: 'fan-out 100 jobs over 5 targets',
    outpost: await pool(100, 100, (i) => outpost(spread(executors, i))),
    agent: await viaAgent(100, 100, (i) => `t${i % 5}`),
    raw: Number.NaN,
    fresh: await pool(100, 40, (i) => fresh(spread(servers, i))),
    control: await pool(100, 40, (i) => muxed(spread(servers, i))),
  });

  const fmt = (n: number) => (Number.isNaN(n) ? '–' : n.toFixed(1)).padStart(9);
  const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`.padStart(8);
  console.log('');
  // The targets are for jobs through the agent: ≥ 20× the fresh-connection client, ≥ 2× ControlMaster.
  const mark = (value: number, target: number) => `${(value).toFixed(1)}×${value >= target ? ' ✔' : ' ✘'}`.padStart(9);
  console.log(`${'jobs/s'.padEnd(32)}${'agent'.padStart(9)}${'outpost'.padStart(9)}${'ssh'.padStart(9)}${'ssh -M'.padStart(9)}${'ssh2 raw'.padStart(9)}${'a/ssh'.padStart(9)}${'a/ssh-M'.padStart(9)}${'o/ssh-M'.padStart(8)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(32)}${fmt(r.agent)}${fmt(r.outpost)}${fmt(r.fresh)}${fmt(r.control)}${fmt(r.raw)}${mark(r.agent / r.fresh, 20)}${mark(r.agent / r.control, 2)}${ratio(r.outpost, r.control)}`);
  }
  console.log('\nagent = jobs through `outpost agent start` (the targets apply to it); outpost = the SSH executor in-process (ssh2, pooled, remote launcher, detached runner, output file, exit status)');
  console.log('agent: HTTP API, durable job records (fsynced), completion seen on the agent event stream (SSE), log level warn');
  console.log('ssh = OpenSSH client, fresh connection per command; ssh -M = OpenSSH over a ControlMaster connection');
  console.log('ssh2 raw = bare exec of `true` on one pooled ssh2 connection, a channel per command (no wrapper, no files)');
  console.log('fan-out: outpost and agent all 100 at once; ssh clients 40 in flight (8 per target)');
  await mkdir(join(root, 'bench-results'), { recursive: true });
  await writeFile(
    join(root, 'bench-results', 'ssh.json'),
    `${JSON.stringify({ date: new Date().toISOString(), unit: 'jobs/s', rows: rows.map((r) => ({ ...r, raw: Number.isNaN(r.raw) ? null : r.raw, agentRatioFresh: r.agent / r.fresh, agentRatioControlMaster: r.agent / r.control, ratioFresh: r.outpost / r.fresh, ratioControlMaster: r.outpost / r.control })) }, null, 2)}\n`,
  );
  console.log('wrote bench-results/ssh.json');
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
