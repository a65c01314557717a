/**
 * The master as a library (`outpost/master`): runJobs over a small simulated fleet with per-host events,
 * cancellation and kill through AbortSignals, and the package entry point resolving to the built engine.
 */
import t from 'tap';
import { runJobs, type HostResult } from '../../master/index.js';
import { startSimulatedFleet } from '../fixtures/fleet.js';

const fleet = await startSimulatedFleet(t, { pairs: 1, up: 6, refusing: 1, agentConfig: { cancelGraceSeconds: 30 } });
const credentials = { cert: fleet.env.OUTPOST_CERT, key: fleet.env.OUTPOST_KEY, ca: fleet.env.OUTPOST_CA };
const targets = fleet.hosts.map((h) => `${h.name} ${h.url}`);

t.test('runJobs: per-host events as they happen, one row per target in target order', async (t) => {
  const seen: string[] = [];
  const output = new Map<string, string>();
  const done: HostResult[] = [];
  const result = await runJobs({
    targets,
    job: { argv: ['sh', '-c', 'echo hi from $OUTPOST_JOB_ID'] },
    credentials,
    concurrency: 3,
    connectTimeoutMs: 5000,
    events: {
      started: (host) => seen.push(`started ${host}`),
      submitted: (host, agent, id) => seen.push(`submitted ${host} ${agent} ${id}`),
      output: (host, data) => output.set(host, (output.get(host) ?? '') + data.toString()),
      done: (row) => done.push(row),
    },
  });
  t.same(result.hosts.map((h) => h.host), fleet.hosts.map((h) => h.name), 'rows in target order');
  t.match(result, { ok: false, exitStatus: 1, interrupted: false, stoppedEarly: false });
  const up = fleet.hosts.filter((h) => h.kind === 'up');
  for (const h of up) {
    const row = result.hosts.find((r) => r.host === h.name);
    t.match(row, { state: 'succeeded', exitCode: 0, agent: h.url });
    t.equal(output.get(h.name), `hi from ${row?.jobId}\n`, `${h.name}: its output through the event`);
    t.ok(seen.includes(`submitted ${h.name} ${h.url} ${row?.jobId}`));
  }
  t.equal(seen.filter((s) => s.startsWith('started ')).length, fleet.hosts.length);
  t.equal(done.length, fleet.hosts.length, 'one done event per host');
  t.match(result.hosts.at(-1), { state: 'unreachable', error: { code: 'MASTER_AGENT_UNREACHABLE' } });
});

async function runUntilSubmitted(signalName: 'signal' | 'killSignal'): Promise<{ rows: HostResult[]; interrupted: boolean }> {
  const controller = new AbortController();
  const up = fleet.hosts.filter((h) => h.kind === 'up');
  let submitted = 0;
  const result = await runJobs({
    targets: up.map((h) => ({ name: h.name, candidates: [h.url] })),
    job: { argv: ['sleep', '120'] },
    credentials,
    concurrency: 3,
    [signalName]: controller.signal,
    events: {
      // Half the hosts are running when the caller stops the run: the others must never be submitted.
      submitted: () => {
        if (++submitted === 3) controller.abort();
      },
    },
  });
  return { rows: result.hosts, interrupted: result.interrupted };
}

t.test('an aborted signal cancels the submitted jobs (SIGTERM) and submits no more', async (t) => {
  const { rows, interrupted } = await runUntilSubmitted('signal');
  t.equal(interrupted, true);
  const outcome = JSON.stringify(rows.map((r) => [r.state, r.signal, r.error?.code ?? null, r.error?.message ?? null]));
  t.equal(rows.filter((r) => r.state === 'cancelled').length, 3, `the three running jobs are cancelled: ${outcome}`);
  t.ok(rows.filter((r) => r.state === 'cancelled').every((r) => r.signal === 'SIGTERM'), 'with SIGTERM, within the agent\'s grace period');
  t.same(rows.filter((r) => r.state === 'skipped').map((r) => r.error?.code), ['MASTER_NOT_STARTED', 'MASTER_NOT_STARTED', 'MASTER_NOT_STARTED']);
});

t.test('an aborted killSignal kills the submitted jobs at once (SIGKILL)', async (t) => {
  const { rows, interrupted } = await runUntilSubmitted('killSignal');
  t.equal(interrupted, true);
  const outcome = JSON.stringify(rows.map((r) => [r.state, r.signal]));
  const killed = rows.filter((r) => r.jobId !== null);
  t.equal(killed.length, 3, 'three jobs were submitted');
  // A job killed while the agent was still starting it may be recorded failed rather than cancelled; either way by SIGKILL.
  t.ok(killed.every((r) => r.state !== 'succeeded' && r.signal === 'SIGKILL'), `killed with SIGKILL: ${outcome}`);
  t.equal(rows.filter((r) => r.state === 'skipped').length, 3, 'the others never submitted');
});

t.test('bad options are refused with MASTER_USAGE before any connection', async (t) => {
  await t.rejects(runJobs({ targets, job: { argv: ['true'] }, credentials, concurrency: 0 }), { code: 'MASTER_USAGE' });
  await t.rejects(runJobs({ targets: [], job: { argv: ['true'] }, credentials }), { code: 'MASTER_USAGE' });
});

t.test('the package entry point `outpost/master` resolves to the built engine', async (t) => {
  const specifier = 'outpost/master';
  const lib = (await import(specifier)) as Record<string, unknown>;
  t.type(lib.runJobs, 'function');
  t.type(lib.loadCredentials, 'function');
});
