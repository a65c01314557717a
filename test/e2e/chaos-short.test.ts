/**
 * The chaos run (scripts/chaos) in a few cycles: jobs through the real gateway while the agent is killed
 * with SIGKILL every cycle, the gateway killed and restarted, and every connection reset. Nothing accepted
 * is lost, nothing runs twice, and the master reports each job as the agent ended it. `npm run chaos` is
 * the long version (100 cycles, with SSH jobs, sshd restarts and disk fills).
 *
 * The run is `npm run chaos`'s own program in a process of its own, as an operator runs it: what its
 * resets leave behind (a socket whose connect never completes) ends with that process, not with this one.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChaosReport } from '../../scripts/chaos/chaos.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

t.test('local jobs survive agent SIGKILLs, a gateway restart and reset connections: none lost, duplicated or misreported', async (t) => {
  const args = ['--cycles', '4', '--submitters', '3', '--gateway-every', '3', '--cut-every', '2', '--pause-ms', '700,1200', '--host', '127.0.0.6', '--no-ssh', '--json'];
  // Not measured for coverage: the run loads the sources through its own tsx, and c8 merging those copies
  // with the unit tests' lowered pure modules' figures (ca/der.ts 100% → 88% in a full run).
  const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' };
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/chaos/run.ts'), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  t.equal(code, 0, `the run ended by itself with status 0 (stderr: ${stderr.slice(-2000)})`);
  const r = JSON.parse(stdout) as ChaosReport;
  const summary = JSON.stringify(r);
  t.ok(r.agentKills === 4 && r.gatewayRestarts === 1, 'the chaos happened');
  t.ok(r.completed >= 4, `jobs completed meanwhile: ${summary}`);
  t.equal(r.lost, 0, `lost: ${summary}`);
  t.equal(r.duplicated, 0, `duplicated: ${summary}`);
  t.equal(r.wrongState, 0, `wrong state: ${summary}`);
});
