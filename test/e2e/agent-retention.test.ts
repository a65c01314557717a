/** Retention: the oldest ended jobs beyond retention.maxJobs go (record and output) at start; running ones stay. */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';

t.test('ended jobs beyond maxJobs are removed with their output, running ones are kept', async (t) => {
  const agent = await startAgentProcess(t, { config: { retention: { maxJobs: 3, maxAgeDays: 30 } } });
  const ended: string[] = [];
  for (let i = 0; i < 4; i++) {
    const id = await agent.submit({ argv: ['/bin/echo', String(i)] });
    await agent.waitDone(id);
    ended.push(id);
  }
  const running = await agent.submit({ command: 'sleep 600' });
  await agent.kill('SIGTERM');
  await agent.restart();
  const ids = ((await agent.request('GET', '/v1/jobs')).json().jobs as { id: string }[]).map((j) => j.id);
  t.same(ids.sort(), [running, ended[2], ended[3]].sort(), 'the two newest ended jobs and the running one remain');
  t.notOk(existsSync(join(agent.dataDir, 'jobs', ended[0] as string)), 'output of a removed job is gone');
  t.equal((await agent.request('GET', `/v1/jobs/${ended[0]}`)).status, 404);
  t.equal((await agent.request('GET', `/v1/jobs/${running}`)).json().state, 'running');
  await agent.request('POST', `/v1/jobs/${running}/abort`);
  await agent.waitDone(running);
});
