/**
 * `outpost job status|output|cancel|abort` as real processes against real mTLS servers that speak the agent API (the e2e tests do
 * the same against the real agent and gateway).
 */
import t from 'tap';
import { startMtlsFleet, type MtlsServer } from '../fixtures/mtls-server.js';
import { runOutpost } from '../fixtures/cli.js';
import { parseRunJson } from '../fixtures/ndjson.js';

const { servers, env } = await startMtlsFleet(t, 'outpost-master-cli-job-', [{ host: '127.0.0.1', status: { running: 3, queued: 0, capacity: 4 } }]);
const [a] = servers as [MtlsServer];

t.test('status, output, cancel, abort and agent errors', async (t) => {
  const run = await runOutpost(['job', 'run', '--json', '--agent', a.url, '--', 'abc'], { env });
  const id = String(parseRunJson(run.stdout).hosts[0]?.jobId ?? '');
  const status = await runOutpost(['job', 'status', id, '--agent', a.url, '--json'], { env });
  t.match(JSON.parse(status.stdout), { id, state: 'succeeded', exitCode: 0 });
  const out = await runOutpost(['job', 'output', id, '--agent', a.url], { env });
  t.equal(out.stdout, 'abc');
  const offset = await runOutpost(['job', 'output', id, '--agent', a.url, '--offset', '1'], { env });
  t.equal(offset.stdout, 'bc');
  const cancel = await runOutpost(['job', 'cancel', id, '--agent', a.url], { env });
  t.match(cancel.stdout, `${id}: cancelled`);
  t.equal(a.requests.at(-1)?.path, `/v1/jobs/${id}/cancel`);
  await runOutpost(['job', 'abort', id, '--agent', a.url], { env });
  t.equal(a.requests.at(-1)?.path, `/v1/jobs/${id}/abort`);
  const missing = await runOutpost(['job', 'status', 'job-999', '--agent', a.url], { env });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /MASTER_JOB_NOT_FOUND: .*AGENT_JOB_NOT_FOUND/);
  const bad = await runOutpost(['job', 'status', '../x', '--agent', a.url, '--json'], { env });
  t.match(JSON.parse(bad.stderr), { error: { code: 'MASTER_INVALID_JOB_ID' } });
});

