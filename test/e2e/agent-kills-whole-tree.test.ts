/**
 * Timeout, cancel and abort end the whole tree: the job's process group, grandchildren that ignore
 * SIGTERM, and descendants that left the group (setsid) or were orphaned by a double fork.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';
import { waitFor } from '../fixtures/wait.js';

// A grace period long enough that a loaded machine cannot blur "still alive during grace" and "killed after".
const agent = await startAgentProcess(t, { config: { cancelGraceSeconds: 3, maxConcurrentJobs: 4 } });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** SIGKILL is delivered at once but a process takes a moment to die: wait for that, not a fixed time. */
const allGone = (pids: number[]) => waitFor(() => pids.every((p) => !alive(p)), 3000, 'the processes to die', 20).catch(() => undefined);

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitForPids(file: string, n: number): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const pids = (await readFile(file, 'utf8').catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
    if (pids.length >= n) return pids;
    await sleep(50);
  }
  throw new Error(`${file} never listed ${n} pids`);
}

/** A job that starts: a plain grandchild, one that left the group with setsid, and a double-forked orphan. */
function treeCommand(pidFile: string, ignoreTerm: boolean): string {
  return [
    ignoreTerm ? "trap '' TERM" : ':',
    `sleep 300 & echo $! >> ${pidFile}`,
    `setsid sleep 301 & echo $! >> ${pidFile}`,
    `(setsid sh -c 'sleep 302 & echo $! >> ${pidFile}' &)`,
    'wait',
  ].join('; ');
}

t.test('timeoutSeconds kills the job and every descendant', async (t) => {
  const pidFile = join(agent.dir, 'timeout.pids');
  const id = await agent.submit({ command: treeCommand(pidFile, false), timeoutSeconds: 1 });
  const pids = await waitForPids(pidFile, 3);
  t.ok(pids.every(alive), 'all three descendants run');
  const job = await agent.waitDone(id);
  t.equal(job.state, 'timed_out');
  t.equal(job.endReason, 'timeout');
  await allGone(pids);
  for (const pid of pids) t.notOk(alive(pid), `descendant ${pid} is gone`);
  const signalled = await readFile(join(agent.dataDir, 'jobs', id, 'signalled'), 'utf8');
  for (const pid of pids) t.match(signalled, new RegExp(`\\b${pid}\\b`), `pid ${pid} was recorded before signalling`);
});

t.test('cancel: SIGTERM, then SIGKILL after the grace period for what ignores it', async (t) => {
  const pidFile = join(agent.dir, 'cancel.pids');
  const id = await agent.submit({ command: treeCommand(pidFile, true) });
  const pids = await waitForPids(pidFile, 3);
  const res = await agent.request('POST', `/v1/jobs/${id}/cancel`);
  t.equal(res.status, 202);
  await waitFor(() => readFile(join(agent.dataDir, 'jobs', id, 'signalled'), 'utf8').then((s) => s.startsWith('TERM'), () => false), 10_000, 'SIGTERM to be sent', 50);
  t.ok(alive(pids[0] as number), 'the TERM-ignoring grandchild survives the grace period at first');
  const job = await agent.waitDone(id);
  t.equal(job.state, 'cancelled');
  t.equal(job.endReason, 'cancel');
  await allGone(pids);
  for (const pid of pids) t.notOk(alive(pid), `descendant ${pid} is gone`);
  const signalled = await readFile(join(agent.dataDir, 'jobs', id, 'signalled'), 'utf8');
  t.match(signalled, /^TERM .*\nKILL/m, 'TERM first, KILL after the grace period');
});

t.test('abort: SIGKILL to the whole tree at once', async (t) => {
  const pidFile = join(agent.dir, 'abort.pids');
  const id = await agent.submit({ command: treeCommand(pidFile, true) });
  const pids = await waitForPids(pidFile, 3);
  const res = await agent.request('POST', `/v1/jobs/${id}/abort`);
  t.equal(res.status, 202);
  const job = await agent.waitDone(id);
  t.equal(job.state, 'cancelled');
  t.equal(job.endReason, 'abort');
  t.equal(job.signal, 'SIGKILL');
  await allGone(pids);
  for (const pid of pids) t.notOk(alive(pid), `descendant ${pid} is gone`);
});

t.test('cancelling a queued job ends it without running it', async (t) => {
  const blockers = await Promise.all([1, 2, 3, 4].map(() => agent.submit({ command: 'sleep 600' })));
  const marker = join(agent.dir, 'never');
  const id = await agent.submit({ command: `touch ${marker}` });
  t.equal((await agent.request('GET', `/v1/jobs/${id}`)).json().state, 'queued');
  t.equal((await agent.request('POST', `/v1/jobs/${id}/cancel`)).status, 202);
  t.equal((await agent.waitDone(id)).state, 'cancelled');
  for (const b of blockers) await agent.request('POST', `/v1/jobs/${b}/abort`);
  for (const b of blockers) await agent.waitDone(b);
  t.notOk(existsSync(marker), 'never ran');
});

t.test('a cancel or abort sent the moment the job is accepted ends it: the supervisor is never caught unready', async (t) => {
  // The agent has the supervisor's pid as soon as it is forked, possibly before the supervisor has run a
  // line (a loaded host): a signal then must neither kill the supervisor (the job would be lost, or run on
  // unsupervised) nor be forgotten.
  // A duration no other test uses, to find this test's processes by their command line.
  const duration = `${300 + (process.pid % 600)}.25`;
  for (let i = 0; i < 20; i++) {
    const kind = i % 2 ? 'abort' : 'cancel';
    const id = await agent.submit({ argv: ['/bin/sleep', duration] });
    t.equal((await agent.request('POST', `/v1/jobs/${id}/${kind}`)).status, 202);
    const job = await agent.waitDone(id, 20_000);
    t.equal(job.state, 'cancelled', `${kind} #${i}: ${String(job.message)}`);
  }
  const left = await waitFor(() => !existsSync('/proc') || !readdirPids().some((p) => cmdline(p) === `/bin/sleep\0${duration}\0`), 5000, 'no job left running').catch(() => false);
  t.ok(left, 'no job process is left running');
});

function readdirPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}
