/**
 * A chaos run: a steady load of jobs through the real gateway — local ones and, with `sshdEvery`, agentless
 * ones over SSH on a real sshd — while the agent is killed with SIGKILL and restarted every cycle, the
 * gateway is killed and restarted every few cycles, sshd stopped and started every few others, the agent's
 * disk filled below its floor for a cycle every few more (`fillEvery`), and every open connection between
 * master and gateway is reset. Submitters use the master's own engine (runJobs:
 * idempotency keys, resends, output follow with resumption), one job per call, each job appending its
 * token to a file. At the end the three accounts (master, agent, file) are compared (tally.ts). A prober
 * asks the gateway for /healthz every 100 ms to measure the longest unavailability.
 *
 * Used by `npm run chaos` (scripts/chaos/run.ts, 100 cycles) and, in a few cycles, by the test suite.
 */
import { request, type RequestOptions } from 'node:https';
import type { SecureContext } from 'node:tls';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { runJobs } from '../../master/index.js';
import { loadCredentials } from '../../master/credentials.js';
import { startStack } from '../../test/fixtures/stack.js';
import { runOutpost, tempDir } from '../../test/fixtures/cli.js';
import { createSshUser, sshdSkipReason, startSshd } from '../../test/fixtures/sshd.js';
import { longestOutage, tallyChaos, type AgentJob, type ChaosCounts, type Submission } from './tally.js';

type T = { teardown(fn: () => unknown): void };
const execFileP = promisify(execFile);

export interface ChaosOptions {
  /** Agent SIGKILL + restart cycles. */
  cycles: number;
  /** Jobs in flight at once (each a runJobs call). */
  submitters?: number;
  /** Kill and restart the gateway every this many cycles (0: never). */
  gatewayEvery?: number;
  /** Reset every master ↔ gateway connection every this many cycles (0: never). */
  cutEvery?: number;
  /** Half the submitters run their jobs agentlessly over SSH on a real sshd (root only); sshd is stopped and
   * started again every this many cycles (0: never). Undefined: no SSH jobs. */
  sshdEvery?: number;
  /** The agent's dataDir is a 64 MiB tmpfs (root only), filled below its minFreeBytes floor every this many
   * cycles and freed at the next: submissions meanwhile are refused (507), nothing accepted may suffer.
   * Undefined: dataDir on the ordinary disk. */
  fillEvery?: number;
  /** Milliseconds between cycles (uniform in [min, max]). */
  pauseMs?: readonly [number, number];
  /** Loopback address of the site. */
  host?: string;
  /** The SSH user is ot-ssh-<tag> (default `chaos`): runs that may overlap need their own, since making
   * the user replaces its authorized key and clears its job files. */
  sshTag?: string;
  progress?: (line: string) => void;
}

export interface ChaosReport extends ChaosCounts {
  /** For each lost job: the agent's state and message, the master's state, how often it ran. */
  lostWhy: string[];
  cycles: number;
  /** Jobs submitted to run over SSH (part of `submitted`). */
  sshSubmitted: number;
  sshdRestarts: number;
  diskFills: number;
  agentKills: number;
  gatewayRestarts: number;
  connectionResets: number;
  /** Longest stretch without a successful /healthz through the gateway, ms. */
  longestUnavailableMs: number;
  durationMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * RST for a connected socket. One still connecting is destroyed instead: resetAndDestroy() would wait for
 * the connection to complete, and a connect that never completes kept the process alive after the run.
 */
const reset = (s: net.Socket): void => {
  if (s.pending) s.destroy();
  else s.resetAndDestroy();
};

/** A TCP relay in front of the gateway whose connections can all be reset at once (TLS passes through). */
async function resettableRelay(t: T, host: string, target: () => number): Promise<{ port: number; resetAll(): number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: target() });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    const resetBoth = (): void => {
      reset(client);
      reset(upstream);
    };
    client.on('error', resetBoth);
    upstream.on('error', resetBoth);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    resetAll() {
      const n = sockets.size;
      for (const s of [...sockets]) reset(s);
      return n;
    },
  };
}

export async function runChaos(t: T, o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const host = o.host ?? '127.0.0.5';
  const say = o.progress ?? (() => undefined);
  const useSsh = o.sshdEvery !== undefined;
  if (useSsh && sshdSkipReason()) throw new Error(`chaos with SSH jobs: ${sshdSkipReason()}`);
  const sshd = useSsh ? await startSshd(t) : null;
  const sshUser = sshd ? await createSshUser(t, o.sshTag ?? 'chaos', await tempDir(t, 'ot-chaos-key-')) : null;
  const processServers = sshd ? [{ name: 'chaos', credentialKey: 'chaos-key', remoteHostName: sshd.host, port: sshd.port, hostKey: sshd.fingerprint, interpreterWhitelist: ['/bin/sh'] }] : [];
  let small: string | null = null;
  if (o.fillEvery !== undefined) {
    const mountPoint = await mkdtemp(join(tmpdir(), 'ot-chaos-disk-'));
    small = mountPoint;
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', mountPoint]);
    // One teardown, in this order: a directory still mounted cannot be removed.
    t.teardown(async () => {
      await execFileP('umount', ['-l', mountPoint]).catch(() => undefined);
      await rm(mountPoint, { recursive: true, force: true });
    });
  }
  const diskConfig = small ? { dataDir: join(small, 'data'), minFreeBytes: 16 << 20 } : {};
  const stack = await startStack(t, { host, agentConfig: { maxConcurrentJobs: 16, queueLimit: 1000, processServers, ...diskConfig } });
  const ranLog = join(stack.dir, 'ran.log');
  // SSH jobs run as the SSH user, on the same machine: they record themselves in its home.
  const sshRanLog = sshUser ? join(sshUser.home, `chaos-ran-${process.pid}-${Date.now().toString(36)}.log`) : null;
  if (sshUser) {
    const passphraseFile = join(stack.dir, 'chaos-passphrase');
    await writeFile(passphraseFile, `${sshUser.passphrase}\n`, { mode: 0o600 });
    const added = await runOutpost(['agent', 'credentials', 'add', 'chaos-key', '--user', sshUser.name, '--private-key', sshUser.privateKeyPath, '--passphrase-file', passphraseFile, '--config', stack.agent.configPath]);
    if (added.code !== 0) throw new Error(`agent credentials add: ${added.stderr}`);
  }
  const relay = await resettableRelay(t, host, () => stack.port);
  const creds = await loadCredentials({ cert: stack.env.OUTPOST_CERT, key: stack.env.OUTPOST_KEY, ca: stack.env.OUTPOST_CA });
  const target = `chaos https://${host}:${relay.port}`;

  let stopping = false;
  const submissions: Submission[] = [];
  let sshSubmitted = 0;
  const submitter = async (k: number): Promise<void> => {
    const remote = sshRanLog !== null && k % 2 === 1;
    for (let n = 0; !stopping; n++) {
      const token = `c${k}-${n}`;
      if (remote) sshSubmitted++;
      const result = await runJobs({
        targets: [target],
        job: remote
          ? { argv: ['sh', '-c', `echo ${token} >> ${sshRanLog}; sleep 0.2`], description: token, processServer: 'chaos' }
          : { argv: ['sh', '-c', `echo ${token} >> ${ranLog}; sleep 0.2`], description: token },
        credentials: creds,
        connectTimeoutMs: 5_000,
        requestTimeoutMs: 10_000,
        runId: token,
      });
      const row = result.hosts[0];
      submissions.push({ token, jobId: row?.jobId ?? null, state: row?.state ?? 'missing' });
      // A host found unreachable is retried by the next submission; pace it so a down gateway is not spun on.
      if (row?.jobId === null) await sleep(200);
    }
  };

  const probes: [number, boolean][] = [];
  const probe = (): Promise<boolean> =>
    new Promise((resolve) => {
      const options: RequestOptions & { secureContext: SecureContext } = { host, port: stack.port, path: '/healthz', method: 'GET', secureContext: creds.secureContext, timeout: 2_000, agent: false };
      const req = request(options, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  const prober = (async () => {
    while (!stopping) {
      probes.push([Date.now(), await probe()]);
      await sleep(100);
    }
  })();

  const workers = Array.from({ length: o.submitters ?? 4 }, (_, k) => submitter(k));
  let agentKills = 0;
  let gatewayRestarts = 0;
  let connectionResets = 0;
  let sshdRestarts = 0;
  let diskFills = 0;
  const filler = small ? join(small, 'filler') : null;
  const [lo, hi] = o.pauseMs ?? [600, 1500];
  for (let cycle = 1; cycle <= o.cycles; cycle++) {
    await sleep(lo + Math.random() * (hi - lo));
    if (filler) await rm(filler, { force: true });
    await stack.agent.kill('SIGKILL');
    await stack.agent.restart();
    agentKills++;
    if (o.gatewayEvery && cycle % o.gatewayEvery === 0) {
      await stack.killGateway();
      await stack.startGateway();
      gatewayRestarts++;
    }
    if (o.cutEvery && cycle % o.cutEvery === 0) connectionResets += relay.resetAll();
    if (filler && small && o.fillEvery && cycle % o.fillEvery === 0 && cycle < o.cycles) {
      // Down to 8 MiB free: under the 16 MiB floor, with room left for the running jobs' records and output.
      const { bavail, bsize } = await statfs(small);
      const fill = bavail * bsize - (8 << 20);
      if (fill > 0) await execFileP('fallocate', ['-l', String(fill), filler]);
      diskFills++;
    }
    if (sshd && o.sshdEvery && cycle % o.sshdEvery === 0) {
      await sshd.down();
      await sleep(300);
      await sshd.up();
      sshdRestarts++;
    }
    say(`cycle ${cycle}/${o.cycles}: ${submissions.length} submitted, ${agentKills} agent kills, ${gatewayRestarts} gateway restarts, ${sshdRestarts} sshd restarts, ${diskFills} disk fills, ${connectionResets} connections reset`);
  }
  stopping = true;
  if (filler) await rm(filler, { force: true });
  await Promise.all([...workers, prober]);

  // Every job the agent has must have ended before the accounts are compared.
  const agentJobs: AgentJob[] = [];
  for (let settled = false; !settled; ) {
    agentJobs.length = 0;
    for (let after: string | undefined; ; ) {
      const page = (await stack.agent.request('GET', `/v1/jobs?limit=1000${after ? `&after=${after}` : ''}`)).json().jobs as { id: string; state: string; description?: string; message?: string | null }[];
      for (const j of page) agentJobs.push({ id: j.id, state: j.state, token: j.description ?? '', message: j.message ?? null });
      if (page.length < 1000) break;
      after = page.at(-1)?.id;
    }
    settled = agentJobs.every((j) => !['queued', 'running'].includes(j.state));
    if (!settled) await sleep(200);
  }
  const ranCounts = new Map<string, number>();
  for (const file of [ranLog, sshRanLog]) {
    if (!file) continue;
    for (const token of (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean)) ranCounts.set(token, (ranCounts.get(token) ?? 0) + 1);
  }
  const counts = tallyChaos(submissions, agentJobs, ranCounts);
  // What the agent says of each job counted as lost, and what the master said: the first place to look.
  const why = counts.details.lost.map((token) => {
    const j = agentJobs.find((a) => a.token === token);
    const m = submissions.find((x) => x.token === token);
    return `${token}: agent ${j ? `${j.state} (${j.message ?? ''})` : 'has no such job'}; master ${m?.state ?? '?'}; ran ${ranCounts.get(token) ?? 0}×`;
  });
  return { ...counts, lostWhy: why, cycles: o.cycles, sshSubmitted, sshdRestarts, diskFills, agentKills, gatewayRestarts, connectionResets, longestUnavailableMs: longestOutage(probes), durationMs: Date.now() - started };
}
