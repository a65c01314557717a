/**
 * Capacity: maxConcurrentJobs run, up to queueLimit wait, the next gets 503 with Retry-After, and the
 * queue drains in order with nothing dropped.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';

t.test('a full queue answers 503 with Retry-After, and the queue drains in order', async (t) => {
  const agent = await startAgentProcess(t, { config: { maxConcurrentJobs: 2, queueLimit: 3 } });
  const log = join(agent.dir, 'order.log');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await agent.submit({ command: `echo ${i} >> ${log}; sleep 2` }));
  const states = await Promise.all(ids.map(async (id) => (await agent.request('GET', `/v1/jobs/${id}`)).json().state));
  t.same(states, ['running', 'running', 'queued', 'queued', 'queued']);
  const full = await agent.request('POST', '/v1/jobs', { command: 'true' });
  t.equal(full.status, 503);
  t.equal(full.json().error?.code, 'AGENT_QUEUE_FULL');
  t.match(full.headers['retry-after'], /^\d+$/);
  const status = (await agent.request('GET', '/v1/status')).json() as { jobs: { running: number; queued: number } };
  t.same(status.jobs.running, 2);
  t.same(status.jobs.queued, 3);
  const done = [];
  for (const id of ids) done.push(await agent.waitDone(id));
  t.ok(done.every((j) => j.state === 'succeeded'));
  const started = done.map((j) => String(j.startedAt));
  t.same([...started].sort(), started, 'queued jobs started in the order they were accepted');
  const lines = (await readFile(log, 'utf8')).trim().split('\n').sort();
  t.same(lines, ['0', '1', '2', '3', '4'], 'nothing dropped');
  const metrics = (await agent.request('GET', '/metrics')).text;
  t.match(metrics, /outpost_agent_jobs_rejected_queue_full_total 1/);
});

t.test('SIGHUP applies a changed queue limit without a restart; a bad config is refused and the old one kept', async (t) => {
  const agent = await startAgentProcess(t, { config: { maxConcurrentJobs: 1, queueLimit: 0 } });
  const blocker = await agent.submit({ command: 'sleep 600' });
  t.equal((await agent.request('POST', '/v1/jobs', { command: 'true' })).status, 503);
  const { readFile: read, writeFile } = await import('node:fs/promises');
  const yaml = await read(agent.configPath, 'utf8');
  // Waits on the line itself; the bound only keeps a broken agent from hanging the test (the machine may be loaded).
  const waitLog = async (re: RegExp): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (!re.test(agent.log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  await writeFile(agent.configPath, `${yaml}bogus: 1\n`);
  agent.child.kill('SIGHUP');
  await waitLog(/reload failed/);
  t.match(agent.log, /"error":"[^"]*bogus: unknown key[^"]*","level":"error","message":"reload failed; keeping the running configuration"/);
  await writeFile(agent.configPath, yaml.replace('queueLimit: 0', 'queueLimit: 5'));
  agent.child.kill('SIGHUP');
  await waitLog(/"message":"reloaded"/);
  const res = await agent.request('POST', '/v1/jobs', { command: 'true' });
  t.equal(res.status, 201);
  t.equal(res.json().state, 'queued');
  await agent.request('POST', `/v1/jobs/${blocker}/abort`);
  t.equal((await agent.waitDone(res.json().id as string)).state, 'succeeded', 'the queue drains once the slot frees');
});
