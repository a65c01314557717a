/**
 * `npm run bench:gateway`: the gateway next to nginx (one worker, the same TLS settings and policy,
 * rendered by `outpost gateway nginx-config`) and a plain Node https + http-proxy-3 proxy, all in front of
 * the same agent-like upstream process on a Unix socket, driven by the same undici load generator with
 * client certificates over keep-alive connections.
 *
 * Per front and concurrency (1, 16, 64): requests/s, p50/p99 latency, and the front's CPU per request
 * (utime+stime from /proc over the run ÷ requests — independent of the load generator). The fronts take
 * turns at each level, BENCH_ROUNDS (2) times, and each keeps its best round. Then streaming a
 * 1 GiB response (MB/s, with plain HTTP straight from the upstream as the ceiling) and idle RSS.
 * Prints ratios against nginx and writes bench-results/gateway.json. Bounded to under three minutes.
 * BENCH_GATEWAY_CPU_PROF=DIR: the gateway runs with `node --cpu-prof` and writes its profile there when it
 * stops (`tsx scripts/bench/profile-top.ts` splits it); with BENCH_LEVELS=1 it profiles c = 1 alone.
 */
// First: --node re-runs this bench under another Node before anything else is loaded (runtime.ts).
import './runtime.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, Client } from 'undici';
import { createBed, startGatewayFront, startNginxFront, freePort, MASTER_IP, type Bed } from '../../test/fixtures/gateway.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1500);
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 5000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const LEVELS = (process.env.BENCH_LEVELS ?? '1,16,64').split(',').filter(Boolean).map(Number);
const STREAM_BYTES = Number(process.env.BENCH_STREAM_BYTES ?? 1024 ** 3);
const CPU_PROF = process.env.BENCH_GATEWAY_CPU_PROF;
const CLK_TCK = 100;

const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };

/** The upstream in its own process, so its CPU is neither the front's nor the generator's. */
const UPSTREAM_JS = `
const http = require('http');
const body = JSON.stringify({ version: '0.1.0', uptimeSeconds: 12, jobs: { running: 0, queued: 0 }, capacity: 16, processServers: [] });
const chunk = Buffer.alloc(256 * 1024, 'x');
http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  if (req.url.startsWith('/bytes')) {
    let left = Number(new URL(req.url, 'http://a').searchParams.get('n'));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
    const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump); } res.end(); };
    return pump();
  }
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(process.argv[1], () => console.log('ready'));
`;

/** Plain Node https + http-proxy-3: the issue's baseline (~4× nginx's CPU per request). */
const HTTP_PROXY_JS = `
const https = require('https'); const http = require('http'); const fs = require('fs');
const { createProxyServer } = require(${JSON.stringify(join(root, 'node_modules/http-proxy-3'))});
const [cert, key, ca, sock, port] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = createProxyServer({ target: { socketPath: sock }, agent, xfwd: true });
proxy.on('error', (e, req, res) => { try { res.writeHead(502); res.end(); } catch {} });
https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), ca: fs.readFileSync(ca), requestCert: true, rejectUnauthorized: true,
  minVersion: 'TLSv1.2', ecdhCurve: 'X25519:P-256:P-384' }, (req, res) => proxy.web(req, res))
  .listen(Number(port), '127.0.0.1', () => console.log('ready'));
`;

function spawnReady(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  teardowns.push(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}`)));
  });
}

async function cpuTicks(pids: number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    sum += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return sum;
}

async function rssMiB(pids: number[]): Promise<number> {
  let kb = 0;
  for (const pid of pids) kb += Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

async function childPids(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const kids = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    out.push(...kids.split(' ').filter(Boolean).map(Number));
  }
  return out;
}

interface Front {
  name: string;
  port: number;
  pids: () => Promise<number[]>;
}

interface LevelResult {
  concurrency: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  errors: number;
}

function tlsConnect(bed: Bed) {
  return {
    ca: bed.pki.caCertPem, cert: bed.certs.master.certPem, key: bed.certs.master.keyPem, servername: 'localhost',
  };
}

async function load(front: Front, bed: Bed, concurrency: number): Promise<LevelResult> {
  const pool = new Pool(`https://127.0.0.1:${front.port}`, { connections: concurrency, pipelining: 1, localAddress: MASTER_IP, connect: tlsConnect(bed) });
  const lat: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const t0 = performance.now();
      try {
        const { statusCode, body } = await pool.request({ method: 'GET', path: '/v1/status' });
        await body.arrayBuffer();
        if (statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      if (measuring) lat.push(performance.now() - t0);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const pids = await front.pids();
  const cpu0 = await cpuTicks(pids);
  const t0 = performance.now();
  measuring = true;
  await new Promise((r) => setTimeout(r, RUN_MS));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await cpuTicks(pids);
  stop = true;
  await Promise.all(workers);
  await pool.close();
  lat.sort((a, b) => a - b);
  const q = (p: number) => Math.round((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0) * 1000) / 1000;
  return {
    concurrency,
    requests: lat.length,
    rps: Math.round(lat.length / elapsed),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    cpuUsPerRequest: Math.round((((cpu1 - cpu0) / CLK_TCK) * 1e6) / Math.max(1, lat.length) * 10) / 10,
    errors,
  };
}

async function stream(origin: string, connect: Record<string, unknown> | undefined, socketPath?: string): Promise<number> {
  const client = new Client(origin, { ...(socketPath ? {} : { localAddress: MASTER_IP }), connect: { ...(connect ?? {}), ...(socketPath ? { socketPath } : {}) }, bodyTimeout: 120_000 });
  const t0 = performance.now();
  const { body } = await client.request({ method: 'GET', path: `/bytes?n=${STREAM_BYTES}` });
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  const s = (performance.now() - t0) / 1000;
  await client.close();
  if (n !== STREAM_BYTES) throw new Error(`stream got ${n} of ${STREAM_BYTES} bytes`);
  return Math.round(n / 1e6 / s);
}

async function main(): Promise<void> {
  const bed = await createBed(t);
  const sock = join(bed.dir, 'bench-upstream.sock');
  await spawnReady(['-e', UPSTREAM_JS, sock]);
  bed.config.upstream = { socket: sock };
  bed.config.limits = { ...(bed.config.limits as object), connectionsPerSource: 1024, maxBodyBytes: 1024 * 1024 };
  bed.config.logLevel = 'warn';
  await bed.writeConfig();

  const gw = await startGatewayFront(t, bed, CPU_PROF ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] } : {});
  const ngx = await startNginxFront(t, bed, { workers: 1 });
  const hpPort = await freePort();
  const hp = await spawnReady(['-e', HTTP_PROXY_JS, bed.certs.listener.certPath, bed.certs.listener.keyPath, bed.pki.caCertPath, sock, String(hpPort)]);
  const fronts: Front[] = [
    { name: 'gateway', port: gw.port, pids: async () => [gw.pid] },
    { name: 'nginx', port: ngx.port, pids: async () => [ngx.pid, ...(await childPids(ngx.pid))] },
    { name: 'node+http-proxy-3', port: hpPort, pids: async () => [hp.pid!] },
  ];

  const idle: Record<string, number> = {};
  for (const f of fronts) idle[f.name] = await rssMiB(await f.pids());

  // Levels run in turns (gateway, nginx, gateway, nginx, … per level), and each front keeps its least
  // disturbed round (highest req/s): others share these cores, and a burst of their work during one
  // front's runs would otherwise decide the ratio. The http-proxy-3 baseline runs once per level.
  const results: Record<string, LevelResult[]> = {};
  const allRuns: Record<string, LevelResult[]> = {};
  for (const f of fronts) [results[f.name], allRuns[f.name]] = [[], []];
  for (const c of LEVELS) {
    const best: Record<string, LevelResult> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const f of fronts) {
        if (round > 0 && f.name === 'node+http-proxy-3') continue;
        const r = await load(f, bed, c);
        allRuns[f.name]!.push(r);
        if (!best[f.name] || r.rps > best[f.name]!.rps) best[f.name] = r;
        process.stderr.write(`${f.name.padEnd(18)} c=${String(c).padStart(2)}  ${String(r.rps).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  ${r.cpuUsPerRequest} µs CPU/req${r.errors ? `  ${r.errors} errors` : ''}\n`);
      }
    }
    for (const f of fronts) results[f.name]!.push(best[f.name]!);
  }

  const streaming: Record<string, number> = {};
  streaming['direct (plain HTTP, Unix socket)'] = await stream('http://localhost', undefined, sock);
  // Taking turns too, best of ROUNDS for the gateway and nginx (one run is a few seconds: easily disturbed).
  for (let round = 0; round < ROUNDS; round++) {
    for (const f of fronts) {
      if (round > 0 && f.name === 'node+http-proxy-3') continue;
      const mbps = await stream(`https://127.0.0.1:${f.port}`, tlsConnect(bed));
      streaming[f.name] = Math.max(streaming[f.name] ?? 0, mbps);
      process.stderr.write(`stream ${f.name}: ${mbps} MB/s\n`);
    }
  }
  const loaded: Record<string, number> = {};
  for (const f of fronts) loaded[f.name] = await rssMiB(await f.pids());
  // Read again once the fronts have been quiet for 3 s, as bench:agent does (the gateway collects its
  // garbage 2 s after the last request of a burst: core/quiet-gc.ts).
  await new Promise((r) => setTimeout(r, 3000));
  const quiet: Record<string, number> = {};
  for (const f of fronts) quiet[f.name] = await rssMiB(await f.pids());

  const ng = results.nginx!;
  const g = results.gateway!;
  const lines = [
    '',
    `gateway benchmark — ${RUN_MS / 1000} s per level after ${WARMUP_MS / 1000} s warm-up, best of ${ROUNDS} alternating rounds, undici with client certificates, keep-alive, GET /v1/status (small JSON)`,
    '',
    'front               c   req/s   p50 ms   p99 ms   CPU µs/req',
    ...fronts.flatMap((f) => results[f.name]!.map((r) =>
      `${f.name.padEnd(18)} ${String(r.concurrency).padStart(2)} ${String(r.rps).padStart(7)} ${String(r.p50Ms).padStart(8)} ${String(r.p99Ms).padStart(8)} ${String(r.cpuUsPerRequest).padStart(12)}${r.errors ? `  (${r.errors} errors)` : ''}`)),
    '',
    'gateway ÷ nginx     c   req/s (target ≥ 0.8)   p99 (target ≤ 1.5)   CPU/req (target ≤ 2.0)',
    ...g.map((r, i) => {
      const n = ng[i]!;
      return `                   ${String(r.concurrency).padStart(2)}   ${(r.rps / n.rps).toFixed(2).padStart(20)}   ${(r.p99Ms / n.p99Ms).toFixed(2).padStart(18)}   ${(r.cpuUsPerRequest / n.cpuUsPerRequest).toFixed(2).padStart(20)}`;
    }),
    '',
    `streaming ${Math.round(STREAM_BYTES / 1024 ** 2)} MiB (MB/s): ${Object.entries(streaming).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  gateway ÷ nginx: ${(streaming.gateway! / streaming.nginx!).toFixed(2)} (target ≥ 0.8)`,
    `RSS MiB idle: ${Object.entries(idle).map(([k, v]) => `${k} ${v}`).join(', ')} (gateway target ≤ 60)`,
    `RSS MiB after load: ${Object.entries(loaded).map(([k, v]) => `${k} ${v}`).join(', ')} (gateway target ≤ 120)`,
    `RSS MiB after load, 3 s quiet: ${Object.entries(quiet).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  await mkdir(join(root, 'bench-results'), { recursive: true });
  await writeFile(join(root, 'bench-results', 'gateway.json'), `${JSON.stringify({
    date: new Date().toISOString(), node: process.version, runMs: RUN_MS, warmupMs: WARMUP_MS, results, allRuns, rounds: ROUNDS, streamingMBps: streaming, rssMiB: { idle, afterLoad: loaded, afterLoadQuiet: quiet },
    ratios: g.map((r, i) => ({ concurrency: r.concurrency, rps: r.rps / ng[i]!.rps, p99: r.p99Ms / ng[i]!.p99Ms, cpuPerRequest: r.cpuUsPerRequest / ng[i]!.cpuUsPerRequest })),
  }, null, 2)}\n`);
}

try {
  await main();
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
