/**
 * The chaos run (scripts/chaos) in a few cycles: jobs through the real gateway while the agent is killed
 * with SIGKILL every cycle, the gateway killed and restarted, sshd restarted, the agent's disk filled below
 * its floor, and every connection reset. Nothing accepted
 * is lost, nothing runs twice, and the master reports each job as the agent ended it. `npm run chaos` is
 * the long version (100 cycles).
 */
import t from 'tap';
import { runChaos } from '../../scripts/chaos/chaos.js';
import { sshdSkipReason } from '../fixtures/sshd.js';

t.setTimeout(300_000);

t.test('local jobs survive agent SIGKILLs, a gateway restart and reset connections: none lost, duplicated or misreported', async (t) => {
  const r = await runChaos(t, { cycles: 4, submitters: 3, gatewayEvery: 3, cutEvery: 2, pauseMs: [700, 1200], host: '127.0.0.6' });
  const summary = JSON.stringify(r);
  t.ok(r.agentKills === 4 && r.gatewayRestarts === 1, 'the chaos happened');
  t.ok(r.completed >= 4, `jobs completed meanwhile: ${summary}`);
  t.equal(r.lost, 0, `lost: ${summary}`);
  t.equal(r.duplicated, 0, `duplicated: ${summary}`);
  t.equal(r.wrongState, 0, `wrong state: ${summary}`);
});

const skip = sshdSkipReason();
t.test('local and SSH jobs survive agent SIGKILLs, sshd restarts and a disk filled below its floor as well', { skip: skip ?? false }, async (t) => {
  const r = await runChaos(t, { cycles: 4, submitters: 2, gatewayEvery: 0, cutEvery: 3, sshdEvery: 2, fillEvery: 2, pauseMs: [700, 1200], host: '127.0.0.7', sshTag: 'chaos-short' });
  const summary = JSON.stringify(r);
  t.ok(r.agentKills === 4 && r.sshdRestarts === 2 && r.diskFills === 1, `the chaos happened: ${summary}`);
  t.ok(r.sshSubmitted >= 2, `SSH jobs were submitted: ${summary}`);
  t.ok(r.completed >= 2, `jobs completed meanwhile: ${summary}`);
  t.equal(r.lost, 0, `lost: ${summary}`);
  t.equal(r.duplicated, 0, `duplicated: ${summary}`);
  t.equal(r.wrongState, 0, `wrong state: ${summary}`);
});
