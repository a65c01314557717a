/**
 * `outpost job …` as a real process against real mTLS servers that speak the agent API (the e2e tests do
 * the same against the real agent and gateway).
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startMtlsFleet, type MtlsServer } from '../fixtures/mtls-server.js';
import { runOutpost } from '../fixtures/cli.js';
import { parseRunJson } from '../fixtures/ndjson.js';

const { dir, servers, env } = await startMtlsFleet(t, 'outpost-master-cli-', [
  { host: '127.0.0.1', status: { running: 3, queued: 0, capacity: 4 } },
  { host: '127.0.0.2', status: { running: 0, queued: 0, capacity: 4 } },
]);
const [a, b] = servers as [MtlsServer, MtlsServer];

t.test('two hosts: prefixed output, summary, exit 0', async (t) => {
  const r = await runOutpost(['job', 'run', '--agent', a.url, '--agent', b.url, '--', 'printf', 'one\ntwo'], { env });
  t.equal(r.code, 0, r.stderr);
  const hostA = a.url.replace('https://', '');
  const hostB = b.url.replace('https://', '');
  t.match(r.stdout, new RegExp(`^\\[${hostA}\\] +printf one$`, 'm'));
  t.match(r.stdout, new RegExp(`^\\[${hostB}\\] +two$`, 'm'), 'the unfinished last line is printed at the end');
  t.match(r.stderr, /HOST\s+STATE\s+EXIT/);
  t.match(r.stderr, /2 hosts: 2 succeeded/);
  t.same(a.requests.find((q) => q.method === 'POST')?.body, { argv: ['printf', 'one\ntwo'] }, 'argv exactly as typed');
});

t.test('--json: NDJSON, one line per host with its output, then a summary line', async (t) => {
  const r = await runOutpost(['job', 'run', '--json', '--agent', a.url, '--', 'hello'], { env });
  t.equal(r.code, 0, r.stderr);
  const doc = parseRunJson(r.stdout);
  t.same(doc.hosts.length, 1);
  t.match(doc.hosts[0], { type: 'host', host: a.url.replace('https://', ''), agent: a.url, jobId: /^job-/, state: 'succeeded', exitCode: 0, output: 'hello', outputTruncated: false, error: null });
  t.match(doc.summary, { type: 'summary', ok: true, exitStatus: 0, interrupted: false, stoppedEarly: false, hosts: 1, states: { succeeded: 1 }, failures: [] });
});

t.test('an unreachable host makes the exit status non-zero', async (t) => {
  const r = await runOutpost(['job', 'run', '--agent', a.url, '--agent', 'https://127.0.0.3:1', '--', 'x'], { env });
  t.equal(r.code, 1);
  t.match(r.stderr, /127\.0\.0\.3:1\s+unreachable\s+-\s+\S+\s+-\s+MASTER_AGENT_UNREACHABLE: .*ECONNREFUSED/);
});

t.test('candidates: the first reachable is used, and --explain says why', async (t) => {
  const before = b.requests.length;
  const r = await runOutpost(['job', 'run', '--explain', '--agent', `https://127.0.0.3:1,${b.url},${a.url}`, '--', 'x'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /candidate https:\/\/127\.0\.0\.3:1: not usable \(MASTER_AGENT_UNREACHABLE/);
  t.match(r.stderr, new RegExp(`candidate ${b.url}: reachable .*chosen, first reachable`));
  t.ok(b.requests.slice(before).some((q) => q.method === 'POST'), 'the job went to the second candidate');
  const least = await runOutpost(['job', 'run', '--pick', 'least-loaded', '--explain', '--agent', `${a.url},${b.url}`, '--json', '--', 'x'], { env });
  t.match(parseRunJson(least.stdout).hosts, [{ agent: b.url }], 'least loaded picks the idle agent');
});

t.test('agents file and usage errors', async (t) => {
  const file = join(dir, 'fleet.txt');
  await writeFile(file, `# fleet\nweb ${a.url}\ndb ${b.url}\n`);
  const r = await runOutpost(['job', 'run', '--agents-file', file, '--command', 'uptime'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\[web\] uptime$/m);
  t.match(r.stdout, /^\[db\] {2}uptime$/m);
  const none = await runOutpost(['job', 'run', '--agent', a.url], { env });
  t.equal(none.code, 1);
  t.match(none.stderr, /MASTER_USAGE: nothing to run/);
  const noCert = await runOutpost(['job', 'run', '--agent', a.url, '--', 'x'], { env: { OUTPOST_CERT: '' } });
  t.match(noCert.stderr, /MASTER_CREDENTIALS_MISSING/);
});

t.test('a full agent queue (503 + Retry-After) is waited out, not reported as a failure', async (t) => {
  a.busy = 1;
  const before = a.requests.filter((q) => q.method === 'POST').length;
  const r = await runOutpost(['job', 'run', '--agent', a.url, '--', 'patient'], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(a.requests.filter((q) => q.method === 'POST').length - before, 2, 'submitted again after Retry-After');
  t.match(r.stdout, /patient/);
});

t.test('--time-span: hosts that cannot start inside the window are skipped and reported', async (t) => {
  const r = await runOutpost(['job', 'run', '--json', '--agent', a.url, '--agent', b.url, '--concurrency', '1', '--time-span', '0.001', '--', 'x'], { env });
  const doc = parseRunJson(r.stdout);
  t.equal(doc.host(a.url.replace('https://', ''))?.state, 'succeeded');
  t.match(doc.host(b.url.replace('https://', '')), { state: 'skipped', error: { code: 'MASTER_NOT_STARTED', message: /time-span/ } });
  t.equal(r.code, 1);
});
