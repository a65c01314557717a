/**
 * Cancel, abort and timeout end every process of a run-as job, although those processes belong to the
 * job's user and the agent (an unprivileged user with a sudo rule) may not signal them; also for jobs that
 * setsid and double-fork, across an agent restart, and with the su method. What cannot be ended is named
 * in the job record and the log (pid, user), never reported as a clean end.
 */
import t from 'tap';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentProcess, type RunningAgent, type Tap } from '../fixtures/agent.js';
import { ensureUser } from '../fixtures/agent-users.js';
import { isRoot } from '../fixtures/cli.js';
import { processesOf, waitNoProcessesOf, waitProcessesOf } from '../fixtures/user-processes.js';

if (!isRoot) {
  t.test('run-as jobs are killed', { skip: 'needs root (creates OS users and a sudoers rule)' }, () => undefined);
} else {
  // Users of this file only: "no process of the job's user is left" is then an exact check.
  const svc = await ensureUser('ot-agent-ksvc');
  const batch = await ensureUser('ot-agent-kbatch');
  const sudoers = '/etc/sudoers.d/ot-agent-kill-test';
  // The install layout's rule for the agent, plus one that lets the job start a root process (a stand-in
  // for any setuid program) which neither the agent nor the job's user may signal.
  await writeFile(
    sudoers,
    `ot-agent-ksvc ALL=(ot-agent-kbatch) NOPASSWD: ALL\not-agent-kbatch ALL=(root) NOPASSWD: /usr/bin/sleep\n`,
    { mode: 0o440 },
  );
  t.teardown(() => rm(sudoers, { force: true }));
  // Whatever a failing run leaves behind must not leak into the next test.
  const sweep = (): void => {
    for (const p of processesOf(batch.uid)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  t.afterEach(sweep);
  sweep();

  async function unprivilegedAgent(t: Tap, config: Record<string, unknown> = {}): Promise<RunningAgent> {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-agent-kill-'));
    await chown(dir, svc.uid, svc.gid);
    await chmod(dir, 0o700);
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    return startAgentProcess(t, { dir, uid: svc.uid, gid: svc.gid, config: { cancelGraceSeconds: 2, runAs: { allowedUsers: [batch.name] }, ...config } });
  }

  const loop = 'while :; do echo tick; sleep 1; done';
  /** The job's shell, a plain child, one that left with setsid, and a double-forked orphan; ignores TERM. */
  const tree = "trap '' TERM; sleep 300 & setsid sleep 301 & (setsid sh -c 'sleep 302 &' &); wait";

  t.test('sudo: abort of a looping job leaves no process of the job user', async (t) => {
    const agent = await unprivilegedAgent(t);
    const id = await agent.submit({ command: loop, runAs: batch.name });
    await waitProcessesOf(batch.uid, 2);
    t.equal((await agent.request('POST', `/v1/jobs/${id}/abort`)).status, 202);
    const job = await agent.waitDone(id);
    t.equal(job.state, 'cancelled');
    t.equal(job.message, null, 'a clean end says nothing more');
    t.same(await waitNoProcessesOf(batch.uid), [], 'nothing of the job is left');
  });

  t.test('sudo: a timed-out job does not leave its sleep behind', async (t) => {
    const agent = await unprivilegedAgent(t);
    const id = await agent.submit({ command: 'sleep 300', runAs: batch.name, timeoutSeconds: 3 });
    const job = await agent.waitDone(id);
    t.equal(job.state, 'timed_out');
    t.same(await waitNoProcessesOf(batch.uid), [], 'sleep 300 is gone');
  });

  t.test('sudo: cancel ends a tree that ignores TERM, setsids and double-forks', async (t) => {
    const agent = await unprivilegedAgent(t);
    const id = await agent.submit({ command: tree, runAs: batch.name });
    await waitProcessesOf(batch.uid, 4);
    t.equal((await agent.request('POST', `/v1/jobs/${id}/cancel`)).status, 202);
    const job = await agent.waitDone(id);
    t.equal(job.state, 'cancelled');
    t.same(await waitNoProcessesOf(batch.uid), [], 'every descendant is gone');
  });

  t.test('sudo: a job re-adopted after the agent was killed is still killable', async (t) => {
    const agent = await unprivilegedAgent(t);
    const id = await agent.submit({ command: tree, runAs: batch.name });
    await waitProcessesOf(batch.uid, 4);
    await agent.kill('SIGKILL');
    await agent.restart();
    t.equal((await agent.request('POST', `/v1/jobs/${id}/abort`)).status, 202);
    const job = await agent.waitDone(id);
    t.equal(job.state, 'cancelled');
    t.same(await waitNoProcessesOf(batch.uid), [], 'every descendant is gone');
  });

  t.test('what cannot be killed is named in the record and the log, not passed off as a clean end', async (t) => {
    const agent = await unprivilegedAgent(t);
    const id = await agent.submit({ command: 'sudo -n /usr/bin/sleep 303 & wait', runAs: batch.name });
    const rootSleep = async (): Promise<number[]> => processesOf(0).filter((p) => p.command === '/usr/bin/sleep 303').map((p) => p.pid);
    for (let i = 0; i < 200 && (await rootSleep()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const [survivor] = await rootSleep();
    t.ok(survivor, 'the job started a root process');
    t.teardown(() => {
      if (survivor) process.kill(survivor, 'SIGKILL');
    });
    await agent.request('POST', `/v1/jobs/${id}/abort`);
    const job = await agent.waitDone(id, 60_000);
    t.equal(job.state, 'cancelled');
    t.match(job.message, new RegExp(`pid ${survivor} \\(user root\\)`), 'the record names the survivor');
    t.match(agent.log, new RegExp(`job processes survived the kill.*${survivor}:root`), 'so does the log');
  });

  t.test('su (agent as root): cancel ends a tree that setsids and double-forks', async (t) => {
    const agent = await startAgentProcess(t, { config: { cancelGraceSeconds: 2, runAs: { method: 'su', allowedUsers: [batch.name] } } });
    const id = await agent.submit({ command: tree, runAs: batch.name });
    await waitProcessesOf(batch.uid, 4);
    await agent.request('POST', `/v1/jobs/${id}/cancel`);
    const job = await agent.waitDone(id);
    t.equal(job.state, 'cancelled');
    t.same(await waitNoProcessesOf(batch.uid), [], 'every descendant is gone');
  });
}
