/**
 * Durability with real processes: `kill -9` of the agent mid-job, then a restart that re-adopts the job
 * (by supervisor pid *and* start time), collects jobs that ended while it was down, runs what was still
 * queued, and refuses to mistake a reused pid for its job.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';
import { waitFor } from '../fixtures/wait.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('kill -9 mid-job: the job keeps running, is re-adopted, and its output is complete', async (t) => {
  const agent = await startAgentProcess(t, { config: { maxConcurrentJobs: 2 } });
  const running = await agent.submit({ command: 'echo start; sleep 3; echo done' });
  const quick = await agent.submit({ command: 'sleep 1; echo finished-while-down; exit 3' });
  const queued = await agent.submit({ command: 'echo was-queued' });
  t.equal((await agent.request('GET', `/v1/jobs/${queued}`)).json().state, 'queued');
  // Both started (their supervisors wrote their pid), then the agent dies before `quick` ends.
  const supervised = (id: string) => readFile(join(agent.dataDir, 'jobs', id, 'supervisor'), 'utf8').then(() => true, () => false);
  await waitFor(async () => (await supervised(running)) && (await supervised(quick)), 10_000, 'both jobs to start', 50);
  await agent.kill('SIGKILL');
  // `quick` ends while no agent runs: its supervisor writes the exit status with no agent to tell.
  await waitFor(() => readFile(join(agent.dataDir, 'jobs', quick, 'status'), 'utf8').then(() => true, () => false), 10_000, 'quick to end', 50);
  await agent.restart();
  const recovered = agent.log.slice(agent.log.lastIndexOf("jobs recovered") - 80);
  t.match(recovered, /"readopted":2/, "both started jobs re-adopted");
  t.match(recovered, /"requeued":1/, 'the queued job was kept, not dropped');
  const a = await agent.waitDone(running);
  t.equal(a.state, 'succeeded');
  t.equal(await agent.output(running), 'start\ndone\n');
  const b = await agent.waitDone(quick);
  t.equal(b.state, 'failed');
  t.equal(b.exitCode, 3);
  t.equal(await agent.output(quick), 'finished-while-down\n');
  const c = await agent.waitDone(queued);
  t.equal(c.state, 'succeeded');
  t.equal(await agent.output(queued), 'was-queued\n');
});

t.test('records survive a restart and the journal replays them', async (t) => {
  const agent = await startAgentProcess(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await agent.submit({ argv: ['/bin/echo', `n${i}`] }));
  for (const id of ids) await agent.waitDone(id);
  await agent.kill('SIGTERM');
  await agent.restart();
  for (const [i, id] of ids.entries()) {
    const job = (await agent.request('GET', `/v1/jobs/${id}`)).json();
    t.equal(job.state, 'succeeded');
    t.equal(await agent.output(id), `n${i}\n`);
  }
});

t.test('a reused pid is never taken for the job: it is lost and the stranger is not signalled', async (t) => {
  const agent = await startAgentProcess(t);
  await agent.kill('SIGTERM');
  // A live process that is not our supervisor, recorded as if it were (same pid, other start time).
  const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.teardown(() => stranger.kill('SIGKILL'));
  const id = 'fake-reused-pid';
  const jobDir = join(agent.dataDir, 'jobs', id);
  await mkdir(jobDir, { recursive: true });
  const record = {
    id,
    state: 'running',
    spec: { id, kind: 'command', command: 'sleep 1000' },
    executor: 'local',
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    endedAt: null,
    exitCode: null,
    signal: null,
    endReason: null,
    message: null,
    runtime: { supervisorPid: stranger.pid, supervisorStart: '1' },
    ranOn: null,
    submittedBy: null,
  };
  const journal = join(agent.dataDir, 'journal.jsonl');
  await writeFile(journal, `${await readFile(journal, 'utf8')}${JSON.stringify({ t: 'create', job: record })}\n`);
  await agent.restart();
  const job = await agent.waitDone(id, 5000);
  t.equal(job.state, 'lost');
  t.match(job.message, new RegExp(`pid ${stranger.pid}`));
  t.equal(stranger.exitCode, null, 'the stranger still runs');
  t.equal(stranger.signalCode, null);
  const cancel = await agent.request('POST', `/v1/jobs/${id}/cancel`);
  t.equal(cancel.status, 409);
});

t.test('a supervisor killed with -9 leaves the job lost, not guessed', async (t) => {
  const agent = await startAgentProcess(t);
  const pidFile = join(agent.dir, 'job.pid');
  const id = await agent.submit({ command: `echo $$ > ${pidFile}; exec sleep 600` });
  const [pid] = (await waitFor(() => readFile(join(agent.dataDir, 'jobs', id, 'supervisor'), 'utf8').catch(() => undefined), 10_000, 'the supervisor', 50)).split(' ');
  await waitFor(() => readFile(pidFile, 'utf8').then((p) => p.trim() !== '', () => false), 10_000, 'the job to run', 50);
  process.kill(Number(pid), 'SIGKILL');
  const job = await agent.waitDone(id, 10_000);
  t.equal(job.state, 'lost');
  t.match(job.message, /without writing an exit status/);
  // The orphaned job keeps its own process group (its pid); clean it up.
  try {
    process.kill(-Number((await readFile(pidFile, 'utf8')).trim()), 'SIGKILL');
  } catch {
    // already gone
  }
});

t.test('kill -9 of the job launcher: running jobs still finish, and the launcher comes back', async (t) => {
  const agent = await startAgentProcess(t);
  const id = await agent.submit({ command: 'sleep 0.8; echo survived' });
  const before = (await agent.request('GET', '/v1/status')).json() as { launcher: { pid: number } };
  process.kill(before.launcher.pid, 'SIGKILL');
  const job = await agent.waitDone(id);
  t.equal(job.state, 'succeeded');
  t.equal(await agent.output(id), 'survived\n');
  let after = before;
  for (let i = 0; i < 60 && (after.launcher.pid === before.launcher.pid || !after.launcher.pid); i++) {
    await sleep(100);
    after = (await agent.request('GET', '/v1/status')).json() as typeof before;
  }
  t.not(after.launcher.pid, before.launcher.pid, 'a new launcher runs');
  const next = await agent.submit({ argv: ['/bin/echo', 'again'] });
  t.equal((await agent.waitDone(next)).state, 'succeeded');
});
