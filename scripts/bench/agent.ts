/**
 * `npm run bench:agent`: jobs per second from submit to recorded completion for a trivial job (/bin/true),
 * one at a time and 8 in flight, next to Node's bare child_process.spawn of the same command measured in
 * the same run; then the same with a busy agent (10,000 job records loaded, output streams open); idle
 * RSS and RSS after 1,500 and 10,000 jobs (VmRSS of the agent process from /proc/PID/status, started as
 * `outpost agent start` is). Writes bench-results/agent.json. Bounded to well under 3 minutes.
 */
// First: --node re-runs this bench under another Node before anything else is loaded (runtime.ts).
import './runtime.js';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postJob, watchJobEvents, type JobEvents } from './agent-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist', 'cli.js');
const N1 = 300;
const N8 = 1200;

/**
 * The baseline runs in a fresh plain `node` process (~40 MiB), not in this tsx-loaded bench process: fork
 * cost grows with the parent's RSS, and a bloated parent would flatter the agent.
 */
async function bareSpawn(n: number, concurrency: number): Promise<number> {
  const script = `
    const { spawn } = require('node:child_process');
    let next = 0;
    const one = () => new Promise((resolve, reject) => {
      const c = spawn('/bin/true', [], { stdio: 'ignore' });
      c.on('error', reject);
      c.on('exit', () => resolve());
    });
    const t0 = performance.now();
    Promise.all(Array.from({ length: ${concurrency} }, async () => { while (next++ < ${n}) await one(); }))
      .then(() => console.log(${n} / ((performance.now() - t0) / 1000)));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(Number(out.trim())));
  });
}

function rssMiB(pid: number, field = 'VmRSS'): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024);
}

interface Agent {
  child: ChildProcess;
  socket: string;
  events: JobEvents;
  http: http.Agent;
  stop(): Promise<void>;
}

async function startAgent(dir: string): Promise<Agent> {
  const socket = join(dir, 'agent.sock');
  const child = spawn(process.execPath, [cli, 'agent', 'start', '--config', join(dir, 'agent.yaml')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OUTPOST_LOG_LEVEL: 'warn' },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`agent exited ${code}: ${out}`)));
  });
  child.stdout?.resume();
  const events = await watchJobEvents(socket);
  return {
    child,
    socket,
    events,
    http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    async stop() {
      events.close();
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/** Submit → wait for the job's final-state event (its completion is then in the job record). */
async function runJob(agent: Agent, body: unknown): Promise<void> {
  for (;;) {
    const res = await postJob(agent.socket, agent.http, body);
    if (res.status === 503) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    if (res.status !== 201) throw new Error(`submit: ${res.status} ${res.text}`);
    const id = (JSON.parse(res.text) as { id: string }).id;
    await agent.events.done(id);
    return;
  }
}

async function agentRate(agent: Agent, n: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await runJob(agent, { argv: ['/bin/true'] });
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/**
 * RSS is read twice after a burst: at once (garbage of the burst included) and once the agent has been
 * quiet for a few seconds, as between two bursts in production; the agent gives memory back when it goes
 * quiet (agent/quiet-gc.ts), so the second figure is what it keeps.
 */
const QUIET_MS = 3000;
const quiet = (): Promise<void> => new Promise((r) => setTimeout(r, QUIET_MS));

function follow(agent: Agent, id: string): http.ClientRequest {
  return http.get({ socketPath: agent.socket, path: `/v1/jobs/${id}/output?follow=1` }, (res) => res.resume());
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-agent-'));
  await mkdir(join(dir, 'data'), { mode: 0o700 });
  await writeFile(
    join(dir, 'agent.yaml'),
    `listen: { socket: ${join(dir, 'agent.sock')} }\ndataDir: ${join(dir, 'data')}\nmaxConcurrentJobs: 16\nqueueLimit: 1000\nlogLevel: warn\njobIsolation: warn\n`,
  );
  const results: Record<string, number> = {};
  try {
    // Each agent figure is paired with a baseline measured right before it, so a change in the machine's
    // load during the run (it is shared) skews both sides alike.
    let agent = await startAgent(dir);
    await new Promise((r) => setTimeout(r, 1000));
    results.idleRssMiB = await rssMiB(agent.child.pid as number);
    // VmRSS counts the node binary's file-backed pages, shared with every node process; RssAnon is private.
    results.idleRssAnonMiB = await rssMiB(agent.child.pid as number, 'RssAnon');
    const launcher = Number((await readFile(`/proc/${agent.child.pid}/task/${agent.child.pid}/children`, 'utf8')).trim().split(' ')[0]);
    results.launcherRssMiB = launcher ? await rssMiB(launcher) : 0;
    results.bareC1 = await bareSpawn(N1, 1);
    results.agentC1 = await agentRate(agent, N1, 1);
    results.bareC8 = await bareSpawn(N8, 8);
    results.agentC8 = await agentRate(agent, N8, 8);
    results.rssAfter1500MiB = await rssMiB(agent.child.pid as number);
    await quiet();
    results.rssAfter1500QuietMiB = await rssMiB(agent.child.pid as number);
    // Fill up to 10,000 jobs in total.
    await agentRate(agent, 10_000 - N1 - N8, 8);
    results.rssAfter10000MiB = await rssMiB(agent.child.pid as number);
    results.rssAnonAfter10000MiB = await rssMiB(agent.child.pid as number, 'RssAnon');
    await quiet();
    results.rssAfter10000QuietMiB = await rssMiB(agent.child.pid as number);
    results.rssAnonAfter10000QuietMiB = await rssMiB(agent.child.pid as number, 'RssAnon');
    await agent.stop();

    // A busy agent: restarted with 10,000 records to load, 4 long jobs streaming output to 4 followers.
    const t0 = performance.now();
    agent = await startAgent(dir);
    results.restartWith10000RecordsMs = performance.now() - t0;
    const streams: http.ClientRequest[] = [];
    const longIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await postJob(agent.socket, agent.http, { command: 'while :; do echo tick; sleep 0.05; done', timeoutSeconds: 60 });
      const id = (JSON.parse(res.text) as { id: string }).id;
      longIds.push(id);
      streams.push(follow(agent, id));
    }
    results.busyBareC1 = await bareSpawn(N1, 1);
    results.busyAgentC1 = await agentRate(agent, N1, 1);
    results.busyBareC8 = await bareSpawn(N8, 8);
    results.busyAgentC8 = await agentRate(agent, N8, 8);
    results.busyRssMiB = await rssMiB(agent.child.pid as number);
    for (const id of longIds) await new Promise<void>((resolve) => {
      const req = http.request({ socketPath: agent.socket, agent: agent.http, method: 'POST', path: `/v1/jobs/${id}/abort` }, (res) => (res.resume(), res.on('end', resolve)));
      req.end();
    });
    for (const s of streams) s.destroy();
    await agent.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const r = (x: number | undefined): string => (x ?? 0).toFixed(0);
  const pct = (a: number | undefined, b: number | undefined): string => `${(((a ?? 0) / (b ?? 1)) * 100).toFixed(0)}%`;
  const rows: [string, string, string, string][] = [
    ['jobs/s, 1 in flight', r(results.agentC1), r(results.bareC1), pct(results.agentC1, results.bareC1)],
    ['jobs/s, 8 in flight', r(results.agentC8), r(results.bareC8), pct(results.agentC8, results.bareC8)],
    ['busy agent, 1 in flight', r(results.busyAgentC1), r(results.busyBareC1), pct(results.busyAgentC1, results.busyBareC1)],
    ['busy agent, 8 in flight', r(results.busyAgentC8), r(results.busyBareC8), pct(results.busyAgentC8, results.busyBareC8)],
  ];
  console.log('\nagent: submit → recorded completion of /bin/true (durable: record fsynced before start)');
  console.log('bare spawn: child_process.spawn of /bin/true from a fresh plain node process, same run\n');
  console.log(`${'measure'.padEnd(26)} ${'agent'.padStart(8)} ${'bare spawn'.padStart(11)} ${'ratio'.padStart(7)}`);
  for (const [name, a, b, ratio] of rows) console.log(`${name.padEnd(26)} ${a.padStart(8)} ${b.padStart(11)} ${ratio.padStart(7)}`);
  console.log('');
  console.log(`idle RSS                   ${(results.idleRssMiB ?? 0).toFixed(1)} MiB (target ≤ 60); private (RssAnon) ${(results.idleRssAnonMiB ?? 0).toFixed(1)} MiB`);
  const mib = (x: number | undefined): string => `${(x ?? 0).toFixed(1)} MiB`;
  console.log(`RSS after 1,500 jobs       ${mib(results.rssAfter1500MiB)} right after the last job; ${mib(results.rssAfter1500QuietMiB)} ${QUIET_MS / 1000} s later (quiet)`);
  console.log(
    `RSS after 10,000 jobs      ${mib(results.rssAfter10000MiB)} right after (${pct(results.rssAfter10000MiB, results.rssAfter1500MiB)} of the 1,500-job figure); ` +
      `${mib(results.rssAfter10000QuietMiB)} quiet (${pct(results.rssAfter10000QuietMiB, results.rssAfter1500QuietMiB)}; target ≤ 110%)`,
  );
  console.log(`  private (RssAnon)        ${mib(results.rssAnonAfter10000MiB)} right after; ${mib(results.rssAnonAfter10000QuietMiB)} quiet`);
  console.log(`launcher RSS               ${(results.launcherRssMiB ?? 0).toFixed(1)} MiB (the process that forks each job's supervisor)`);
  console.log(`busy agent RSS             ${(results.busyRssMiB ?? 0).toFixed(1)} MiB (10,000 records, 4 output followers)`);
  console.log(`restart with 10,000 records ${(results.restartWith10000RecordsMs ?? 0).toFixed(0)} ms (to listening)`);
  await mkdir(join(root, 'bench-results'), { recursive: true });
  await writeFile(join(root, 'bench-results', 'agent.json'), `${JSON.stringify({ node: process.version, at: new Date().toISOString(), ...results }, null, 2)}\n`);
}

await main();
