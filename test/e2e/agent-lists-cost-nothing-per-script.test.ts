/**
 * Listing jobs costs the same whatever they ran: GET /v1/jobs and the status page's table are built from
 * what the agent keeps in memory, so a GET-only client listing 1,000 jobs does not make the agent read
 * back every ended job's record (a 1 MB script each, here). Measured as the bytes the agent process read
 * (/proc/<pid>/io rchar) while answering, not as time.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { startAgentProcess } from '../fixtures/agent.js';

const JOBS = 24;
const SCRIPT = `#${'x'.repeat(1_000_000)}\ntrue\n`;

/** Bytes the process has read through read(2) and friends so far. */
async function bytesRead(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1]);
}

const agent = await startAgentProcess(t, { logLevel: 'warn' });
const ids: string[] = [];
for (let i = 0; i < JOBS; i++) ids.push(await agent.submit({ script: SCRIPT, interpreter: '/bin/sh', description: `big script ${i} ${'d'.repeat(200)}` }));
for (const id of ids) await agent.waitDone(id);
// The ended jobs become summaries once their create lines are in the store's files: a restart makes sure.
await agent.kill();
await agent.restart();
const pid = agent.child.pid as number;

t.test('GET /v1/jobs reads no record back: summaries, a short description, never the script', async (t) => {
  const before = await bytesRead(pid);
  const res = await agent.request('GET', '/v1/jobs?limit=1000');
  const read = (await bytesRead(pid)) - before;
  t.equal(res.status, 200);
  const jobs = res.json().jobs as Record<string, unknown>[];
  t.equal(jobs.length, JOBS);
  t.ok(read < 256 * 1024, `the agent read ${read} bytes to list ${JOBS} jobs of ~1 MB each`);
  t.ok(res.text.length < 32 * 1024, `the answer is ${res.text.length} bytes`);
  const one = jobs[0] as Record<string, unknown>;
  t.match(one, { state: 'succeeded', exitCode: 0, executor: 'local' });
  t.equal((one.description as string).length, 120, 'the description is cut to 120 characters');
  t.match(one.description, /…$/);
  for (const field of ['script', 'scriptBytes', 'command', 'argv', 'spec', 'runtime', 'envNames']) t.notOk(field in one, `no ${field} in a list entry`);
  const whole = (await agent.request('GET', `/v1/jobs/${String(one.id)}`)).json();
  t.equal(whole.scriptBytes, Buffer.byteLength(SCRIPT), 'the whole job is one GET away');
  t.match(whole.description, /d{200}$/, 'with its whole description');
});

t.test('the status page\'s job list reads no record back either', async (t) => {
  const before = await bytesRead(pid);
  const res = await agent.request('GET', '/');
  const read = (await bytesRead(pid)) - before;
  t.equal(res.status, 200);
  t.match(res.text, /big script 0/);
  t.ok(read < 256 * 1024, `the agent read ${read} bytes to render the list`);
});
