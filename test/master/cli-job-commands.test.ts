/**
 * `outpost job status|output|cancel|abort` as real processes against real mTLS servers that speak the agent API (the e2e tests do
 * the same against the real agent and gateway).
 */
import t from 'tap';
import { createTestPki } from '../fixtures/pki.js';
import { startMtlsServer } from '../fixtures/mtls-server.js';
import { runOutpost, tempDir } from '../fixtures/cli.js';

const dir = await tempDir(t, 'outpost-master-cli-job-');
const pki = await createTestPki(dir);
const listener = await pki.issueListener({ name: 'gw', sans: ['ip:127.0.0.1', 'ip:127.0.0.2'] });
const connector = await pki.issueConnector({ name: 'master' });
const a = await startMtlsServer({ host: '127.0.0.1', cert: listener.certPem, key: listener.keyPem, ca: pki.caCertPem, status: { running: 3, queued: 0, capacity: 4 } });
const b = await startMtlsServer({ host: '127.0.0.2', cert: listener.certPem, key: listener.keyPem, ca: pki.caCertPem, status: { running: 0, queued: 0, capacity: 4 } });
t.teardown(() => Promise.all([a.close(), b.close()]));
const env = { OUTPOST_CERT: connector.certPath, OUTPOST_KEY: connector.keyPath, OUTPOST_CA: pki.caCertPath };

t.test('status, output, cancel, abort and agent errors', async (t) => {
  const run = await runOutpost(['job', 'run', '--json', '--agent', a.url, '--', 'abc'], { env });
  const id = (JSON.parse(run.stdout) as { hosts: { jobId: string }[] }).hosts[0]?.jobId ?? '';
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

