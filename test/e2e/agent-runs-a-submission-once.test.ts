/**
 * Exactly-once submission at the agent: a repeated Idempotency-Key answers the job that exists (also after
 * a restart, and while the first submission is still being recorded), a different body under the same key
 * is refused, and after a crash a job whose start was recorded is never started again.
 */
import t from 'tap';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';

const job = { argv: ['sh', '-c', 'echo ran'] };

t.test('a repeated key answers the existing job (200, same id) and starts nothing, across a restart', async (t) => {
  const agent = await startAgentProcess(t);
  const first = await agent.request('POST', '/v1/jobs', job, { 'idempotency-key': 'run-1:host-a' });
  t.equal(first.status, 201, first.text);
  const id = first.json().id as string;
  await agent.waitDone(id);
  const again = await agent.request('POST', '/v1/jobs', { ...job }, { 'idempotency-key': 'run-1:host-a' });
  t.equal(again.status, 200, again.text);
  t.same(again.json(), { id, state: 'succeeded' }, 'the job as it is now');
  t.equal(again.headers['idempotent-replayed'], 'true');
  t.equal(again.headers.location, `/v1/jobs/${id}`);
  const reordered = await agent.request('POST', '/v1/jobs', JSON.stringify({ argv: job.argv }), { 'idempotency-key': 'run-1:host-a' });
  t.equal(reordered.status, 200, 'the same request written differently is the same request');

  await agent.kill('SIGKILL');
  await agent.restart();
  const afterRestart = await agent.request('POST', '/v1/jobs', job, { 'idempotency-key': 'run-1:host-a' });
  t.equal(afterRestart.status, 200, afterRestart.text);
  t.equal(afterRestart.json().id, id, 'the key survived the restart');
  const list = (await agent.request('GET', '/v1/jobs')).json().jobs as { id: string }[];
  t.same(list.map((j) => j.id), [id], 'one job ran');
  const shown = (await agent.request('GET', `/v1/jobs/${id}`)).json();
  t.equal(shown.idempotencyKey, 'run-1:host-a', 'the key is shown');
  t.notOk('idempotency' in shown, 'the request fingerprint is not');
  t.equal(await agent.output(id), 'ran\n');
});

t.test('fail/reused: the same key with another body is 409 and starts nothing; a bad key is 400', async (t) => {
  const agent = await startAgentProcess(t);
  const id = await agent.submit(job, { 'idempotency-key': 'k-1' });
  const other = await agent.request('POST', '/v1/jobs', { argv: ['sh', '-c', 'echo other'] }, { 'idempotency-key': 'k-1' });
  t.equal(other.status, 409);
  t.equal(other.json().error?.code, 'AGENT_IDEMPOTENCY_KEY_REUSED');
  t.match(other.json().error?.message, id);
  for (const bad of ['', 'a b', 'x'.repeat(129), '../etc']) {
    const res = await agent.request('POST', '/v1/jobs', job, { 'idempotency-key': bad });
    t.equal(res.status, 400, JSON.stringify(bad));
    t.equal(res.json().error?.code, 'AGENT_IDEMPOTENCY_KEY_INVALID');
  }
  t.equal(((await agent.request('GET', '/v1/jobs')).json().jobs as unknown[]).length, 1);
});

t.test('concurrent submissions with one key: one job, every answer names it', async (t) => {
  const agent = await startAgentProcess(t);
  const answers = await Promise.all(Array.from({ length: 20 }, () => agent.request('POST', '/v1/jobs', job, { 'idempotency-key': 'burst' })));
  const ids = new Set(answers.map((a) => a.json().id));
  t.equal(ids.size, 1, 'one id');
  t.same(answers.map((a) => a.status).sort((a, b) => a - b), [...Array(19).fill(200), 201]);
  t.equal(((await agent.request('GET', '/v1/jobs')).json().jobs as unknown[]).length, 1, 'one job');
});

t.test('after a crash: a recorded start is never repeated; jobs never started are run', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-agent-'));
  t.teardown(() => import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true, force: true })));
  await mkdir(join(dir, 'data', 'jobs'), { recursive: true, mode: 0o700 });
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const record = (id: string, dispatch?: { boot: string }) => ({
    t: 'create',
    job: {
      id, state: 'queued', spec: { id, kind: 'argv', argv: ['sh', '-c', `echo ${id}`] }, executor: 'local', createdAt: new Date().toISOString(),
      startedAt: null, endedAt: null, exitCode: null, signal: null, endReason: null, message: null, runtime: null, ranOn: null, submittedBy: null,
      ...(dispatch ? { dispatch } : {}),
    },
  });
  const lines = [record('m1-other-boot', { boot: 'an-earlier-boot' }), record('m2-this-boot', { boot }), record('m3-never-started')];
  await writeFile(join(dir, 'data', 'journal.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''), { mode: 0o600 });
  const agent = await startAgentProcess(t, { dir });
  const lost = await agent.waitDone('m1-other-boot');
  t.equal(lost.state, 'lost', 'started before a host restart: its fate is unknown, so it is not run again');
  t.match(lost.message, /host restarted/);
  t.equal(await agent.output('m1-other-boot'), '');
  t.equal((await agent.waitDone('m2-this-boot')).state, 'succeeded', 'same boot, no job directory: it never launched, so it runs');
  t.equal((await agent.waitDone('m3-never-started')).state, 'succeeded');
  t.equal(await agent.output('m3-never-started'), 'm3-never-started\n');
});

t.test('a queued job is marked as dispatched on disk before it starts', async (t) => {
  const agent = await startAgentProcess(t, { config: { maxConcurrentJobs: 1 } });
  const blocker = await agent.submit({ argv: ['sleep', '0.5'] });
  const queued = await agent.submit(job);
  await agent.waitDone(queued);
  const journal = (await readFile(join(agent.dataDir, 'journal.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { t: string; id?: string; job?: { id: string; dispatch?: unknown }; patch?: { dispatch?: unknown; state?: string } });
  const createdBlocker = journal.find((e) => e.t === 'create' && e.job?.id === blocker);
  t.ok(createdBlocker?.job?.dispatch, 'a job started at once carries the mark in its create line');
  const mark = journal.findIndex((e) => e.id === queued && e.patch?.dispatch);
  const running = journal.findIndex((e) => e.id === queued && e.patch?.state === 'running');
  t.ok(mark >= 0, 'the queued job got its mark');
  t.ok(mark < running, 'before it was recorded as running');
});
