/**
 * `npm run chaos`: the full chaos run (chaos.ts) — 100 agent SIGKILL cycles by default, the gateway killed
 * every 5th, sshd restarted every 4th (half the jobs run over SSH when root), the agent's 64 MiB tmpfs dataDir
 * filled below its floor every 7th (root), every connection reset every 3rd — and its verdict. Exits 1 when a job was lost, duplicated
 * or reported in the wrong state. Not part of `npm test` (a few cycles of it are:
 * test/e2e/chaos-short.test.ts).
 *
 *   npm run chaos [-- --cycles N] [--submitters N] [--gateway-every N] [--cut-every N] [--pause-ms MIN,MAX]
 *                    [--host 127.x.y.z] [--no-ssh] [--json]
 */
import { parseArgs } from 'node:util';
import { runChaos } from './chaos.js';
import { sshdSkipReason } from '../../test/fixtures/sshd.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '100' },
    submitters: { type: 'string', default: '4' },
    'gateway-every': { type: 'string', default: '5' },
    'cut-every': { type: 'string', default: '3' },
    'pause-ms': { type: 'string', default: '600,1500' },
    host: { type: 'string' },
    json: { type: 'boolean', default: false },
    'no-ssh': { type: 'boolean', default: false },
  },
});
const usage = (why: string): never => {
  process.stderr.write(`chaos: ${why}\n`);
  process.exit(2);
};
const count = (name: 'cycles' | 'submitters' | 'gateway-every' | 'cut-every', min: number): number => {
  const n = Number(values[name]);
  return Number.isInteger(n) && n >= min ? n : usage(`--${name} must be an integer >= ${min}`);
};
const cycles = count('cycles', 1);
const submitters = count('submitters', 1);
const gatewayEvery = count('gateway-every', 0);
const cutEvery = count('cut-every', 0);
const pause = (values['pause-ms'] ?? '').split(',').map(Number);
const [lo, hi] = pause;
if (pause.length !== 2 || lo === undefined || hi === undefined || !(lo >= 0) || !(hi >= lo)) usage('--pause-ms must be MIN,MAX milliseconds');
if (values.host !== undefined && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(values.host)) usage('--host must be a loopback address (127.x.y.z)');
const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
let status = 0;
try {
  // SSH jobs and the disk fill need root (an OS user, sshd, mount); without it, or with --no-ssh, the run is
  // local jobs on the ordinary disk.
  const ssh = !values['no-ssh'] && sshdSkipReason() === null;
  if (!ssh && !values['no-ssh']) process.stderr.write(`chaos: no SSH jobs: ${sshdSkipReason() ?? ''}\n`);
  const r = await runChaos(t, {
    cycles, submitters, gatewayEvery, cutEvery, pauseMs: [lo as number, hi as number],
    ...(values.host ? { host: values.host } : {}), ...(ssh ? { sshdEvery: 4, fillEvery: 7 } : {}),
    progress: (l) => process.stderr.write(`${l}\n`),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(
      [
        `chaos: ${r.cycles} cycles in ${(r.durationMs / 1000).toFixed(0)} s — ${r.agentKills} agent SIGKILLs, ${r.gatewayRestarts} gateway restarts, ${r.sshdRestarts} sshd restarts, ${r.diskFills} disk fills, ${r.connectionResets} connections reset; Node ${process.version}`,
        `submitted ${r.submitted} (${r.sshSubmitted} over SSH)  accepted ${r.accepted}  completed ${r.completed}  failed to start ${r.failedToStart}  lost ${r.lost}  duplicated ${r.duplicated}  wrong state ${r.wrongState}`,
        `longest unavailability (gateway /healthz every 100 ms): ${(r.longestUnavailableMs / 1000).toFixed(2)} s`,
        ...(r.lost + r.duplicated + r.wrongState > 0 ? [`tokens: ${JSON.stringify(r.details)}`, ...r.lostWhy.map((l) => `lost ${l}`)] : []),
      ].join('\n') + '\n',
    );
  }
  if (r.lost + r.duplicated + r.wrongState > 0) status = 1;
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
process.exit(status);
