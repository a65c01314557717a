/**
 * Cancel and abort sent the moment a job has started — as soon as the launcher has named the supervisor's
 * pid, before the supervisor has forked the job and set up its signal handlers. Those signals' default
 * action would kill the supervisor: the job would be recorded `lost` and its process left running with
 * nobody to stop it. The real launcher and supervisor (Perl), real processes.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createLocalExecutor } from '../../agent/executors/local/index.js';
import { isSameProcess } from '../../agent/proc.js';

const ROUNDS = 15;
/** A duration no other test uses, so the job's processes can be found by their command line. */
const SLEEP = `59.${String(process.pid).padStart(3, '0').slice(-3)}`;
const left = (): string => {
  try {
    return execFileSync('pgrep', ['-af', `^sleep ${SLEEP}$`], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
};

const dir = await mkdtemp(join(tmpdir(), 'outpost-control-at-start-'));
const executor = createLocalExecutor({
  interpreterWhitelist: ['/bin/sh'],
  localInterpreter: {},
  runAsMethod: 'sudo',
  agentUser: userInfo().username,
  jobIsolation: 'warn',
  perl: '/usr/bin/perl',
  baseEnv: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  graceSeconds: 5,
  onLauncherCrash: (err) => t.fail(`launcher crashed: ${err.message}`),
});
t.teardown(async () => {
  await executor.close();
  await rm(dir, { recursive: true, force: true });
});

for (const kind of ['cancel', 'abort'] as const) {
  t.test(`${kind} right after start ends the job as ${kind === 'cancel' ? 'cancelled' : 'aborted'}, never lost, with no process left`, async (t) => {
    const outcomes: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const id = `${kind}-${i}`;
      const paths = { dir: join(dir, id), output: join(dir, id, 'output') };
      const execution = await executor.start({ id, kind: 'argv', argv: ['sleep', SLEEP] }, paths);
      await (kind === 'abort' ? execution.abort() : execution.cancel(1000));
      const exit = await execution.done;
      outcomes.push(exit.reason);
      const supervisor = execution.runtime as { supervisorPid: number; supervisorStart: string };
      t.notOk(isSameProcess(supervisor.supervisorPid, supervisor.supervisorStart), `${id}: the supervisor is gone`);
    }
    t.same(outcomes, Array(ROUNDS).fill(kind), `every round ended as ${kind}: ${outcomes.join(' ')}`);
    t.equal(left(), '', 'no job process is left running');
  });
}

t.test('the job itself starts with no signal blocked (the hold-back ends before its exec)', async (t) => {
  const paths = { dir: join(dir, 'mask'), output: join(dir, 'mask', 'output') };
  const execution = await executor.start({ id: 'mask', kind: 'argv', argv: ['grep', '^SigBlk:', '/proc/self/status'] }, paths);
  const exit = await execution.done;
  t.equal(exit.exitCode, 0);
  t.match(await readFile(paths.output, 'utf8'), /^SigBlk:\s+0{16}\n$/, 'SigBlk is all zero');
});
