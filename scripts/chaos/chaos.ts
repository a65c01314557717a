/**
 * A chaos run: a steady load of jobs through the real gateway while the agent is killed with SIGKILL and
 * restarted every cycle, the gateway is killed and restarted every few cycles, and every open connection
 * between master and gateway is reset every few others. Submitters use the master's own engine (runJobs:
 * idempotency keys, resends, output follow with resumption), one job per call, each job appending its
 * token to a file. At the end the three accounts (master, agent, file) are compared (tally.ts). A prober
 * asks the gateway for /healthz every 100 ms to measure the longest unavailability.
 *
 * Used by `npm run chaos` (scripts/chaos/run.ts, 100 cycles) and, in a few cycles, by the test suite.
 */
import { request, type RequestOptions } from 'node:https';
import type { SecureContext } from 'node:tls';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runJobs } from '../../master/index.js';
import { loadCredentials } from '../../master/credentials.js';
import { startStack } from '../../test/fixtures/stack.js';
import { longestOutage, tallyChaos, type AgentJob, type ChaosCounts, type Submission } from './tally.js';

type T = { teardown(fn: () => unknown): void };

export interface ChaosOptions {
  /** Agent SIGKILL + restart cycles. */
  cycles: number;
  /** Jobs in flight at once (each a runJobs call). */
  submitters?: number;
  /** Kill and restart the gateway every this many cycles (0: never). */
  gatewayEvery?: number;
  /** Reset every master ↔ gateway connection every this many cycles (0: never). */
  cutEvery?: number;
  /** Milliseconds between cycles (uniform in [min, max]). */
  pauseMs?: readonly [number, number];
  /** Loopback address of the site. */
  host?: string;
  progress?: (line: string) => void;
}

export interface ChaosReport extends ChaosCounts {
  cycles: number;
  agentKills: number;
  gatewayRestarts: number;
  connectionResets: number;
  /** Longest stretch without a successful /healthz through the gateway, ms. */
  longestUnavailableMs: number;
  durationMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP relay in front of the gateway whose connections can all be reset at once (TLS passes through). */
async function resettableRelay(t: T, host: string, target: () => number): Promise<{ port: number; resetAll(): number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: target() });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    const reset = (): void => {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    client.on('error', reset);
    upstream.on('error', reset);
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
      for (const s of [...sockets]) s.resetAndDestroy();
      return n;
    },
  };
}

export async function runChaos(t: T, o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const host = o.host ?? '127.0.0.5';
  const say = o.progress ?? (() => undefined);
  const stack = await startStack(t, { host, agentConfig: { maxConcurrentJobs: 16, queueLimit: 1000 } });
  const ranLog = join(stack.dir, 'ran.log');
  const relay = await resettableRelay(t, host, () => stack.port);
  const creds = await loadCredentials({ cert: stack.env.OUTPOST_CERT, key: stack.env.OUTPOST_KEY, ca: stack.env.OUTPOST_CA });
  const target = `chaos https://${host}:${relay.port}`;

  let stopping = false;
  const submissions: Submission[] = [];
  const submitter = async (k: number): Promise<void> => {
    for (let n = 0; !stopping; n++) {
      const token = `c${k}-${n}`;
      const result = await runJobs({
        targets: [target],
        job: { argv: ['sh', '-c', `echo ${token} >> ${ranLog}; sleep 0.2`], description: token },
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
  const [lo, hi] = o.pauseMs ?? [600, 1500];
  for (let cycle = 1; cycle <= o.cycles; cycle++) {
    await sleep(lo + Math.random() * (hi - lo));
    await stack.agent.kill('SIGKILL');
    await stack.agent.restart();
    agentKills++;
    if (o.gatewayEvery && cycle % o.gatewayEvery === 0) {
      await stack.killGateway();
      await stack.startGateway();
      gatewayRestarts++;
    }
    if (o.cutEvery && cycle % o.cutEvery === 0) connectionResets += relay.resetAll();
    say(`cycle ${cycle}/${o.cycles}: ${submissions.length} submitted, ${agentKills} agent kills, ${gatewayRestarts} gateway restarts, ${connectionResets} connections reset`);
  }
  stopping = true;
  await Promise.all([...workers, prober]);

  // Every job the agent has must have ended before the accounts are compared.
  const agentJobs: AgentJob[] = [];
  for (let settled = false; !settled; ) {
    agentJobs.length = 0;
    for (let after: string | undefined; ; ) {
      const page = (await stack.agent.request('GET', `/v1/jobs?limit=1000${after ? `&after=${after}` : ''}`)).json().jobs as { id: string; state: string; description?: string }[];
      for (const j of page) agentJobs.push({ id: j.id, state: j.state, token: j.description ?? '' });
      if (page.length < 1000) break;
      after = page.at(-1)?.id;
    }
    settled = agentJobs.every((j) => !['queued', 'running'].includes(j.state));
    if (!settled) await sleep(200);
  }
  const ranCounts = new Map<string, number>();
  for (const token of (await readFile(ranLog, 'utf8').catch(() => '')).split('\n').filter(Boolean)) ranCounts.set(token, (ranCounts.get(token) ?? 0) + 1);
  const counts = tallyChaos(submissions, agentJobs, ranCounts);
  return { ...counts, cycles: o.cycles, agentKills, gatewayRestarts, connectionResets, longestUnavailableMs: longestOutage(probes), durationMs: Date.now() - started };
}
