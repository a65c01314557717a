/**
 * `npm run chaos`: the full chaos run (chaos.ts) — 100 agent SIGKILL cycles by default, the gateway killed
 * every 5th, every connection reset every 3rd — and its verdict. Exits 1 when a job was lost, duplicated
 * or reported in the wrong state. Not part of `npm test` (a few cycles of it are:
 * test/e2e/chaos-short.test.ts).
 *
 *   npm run chaos [-- --cycles N] [--submitters N] [--json]
 */
import { parseArgs } from 'node:util';
import { runChaos } from './chaos.js';

const { values } = parseArgs({
  options: { cycles: { type: 'string', default: '100' }, submitters: { type: 'string', default: '4' }, json: { type: 'boolean', default: false } },
});
const cycles = Number(values.cycles);
const submitters = Number(values.submitters);
if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(submitters) || submitters < 1) {
  process.stderr.write('chaos: --cycles and --submitters must be positive integers\n');
  process.exit(2);
}
const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
let status = 0;
try {
  const r = await runChaos(t, { cycles, submitters, gatewayEvery: 5, cutEvery: 3, progress: (l) => process.stderr.write(`${l}\n`) });
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(
      [
        `chaos: ${r.cycles} cycles in ${(r.durationMs / 1000).toFixed(0)} s — ${r.agentKills} agent SIGKILLs, ${r.gatewayRestarts} gateway restarts, ${r.connectionResets} connections reset; Node ${process.version}`,
        `submitted ${r.submitted}  accepted ${r.accepted}  completed ${r.completed}  lost ${r.lost}  duplicated ${r.duplicated}  wrong state ${r.wrongState}`,
        `longest unavailability (gateway /healthz every 100 ms): ${(r.longestUnavailableMs / 1000).toFixed(2)} s`,
        ...(r.lost + r.duplicated + r.wrongState > 0 ? [`tokens: ${JSON.stringify(r.details)}`] : []),
      ].join('\n') + '\n',
    );
  }
  if (r.lost + r.duplicated + r.wrongState > 0) status = 1;
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
process.exit(status);
