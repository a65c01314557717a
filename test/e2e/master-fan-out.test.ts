/**
 * `outpost job run` across a fleet, end to end: three real agent + gateway pairs on 127.0.0.2-4, one CLI
 * run fanning out over mutual TLS; a failing host; candidates when the first agent is down.
 */
import t from 'tap';
import { runOutpost } from '../fixtures/cli.js';
import { parseRunJson } from '../fixtures/ndjson.js';
import { startFleet } from '../fixtures/stack.js';

const { stacks } = await startFleet(t, 3);
const [one, two, three] = stacks as [typeof stacks[0], typeof stacks[0], typeof stacks[0]];
const env = one.env;

t.test('several agents: output of each host prefixed, summary, exit 0', async (t) => {
  const r = await runOutpost(['job', 'run', '--agent', one.url, '--agent', two.url, '--agent', three.url, '--concurrency', '2',
    '--command', 'for i in 1 2 3; do echo "line $i from $(hostname)"; done'], { env });
  t.equal(r.code, 0, r.stderr);
  for (const s of [one, two, three]) {
    const name = s.url.replace('https://', '').replace(/[.]/g, '\\.');
    const lines = r.stdout.split('\n').filter((l) => new RegExp(`^\\[${name}\\]`).test(l));
    t.equal(lines.length, 3, `three lines from ${s.url}`);
    t.match(lines.map((l) => l.replace(/^\[[^\]]+\]\s+/, '')).join(','), /^line 1 from .*,line 2 from .*,line 3 from /, 'in order');
  }
  t.match(r.stderr, /3 hosts: 3 succeeded/);
});

t.test('a failing host makes the exit status non-zero, --json has every host', async (t) => {
  // Only agent two finds the job's directory in its own data directory: it alone fails.
  const r = await runOutpost(['job', 'run', '--json', '--agent', one.url, '--agent', two.url, '--description', 'check on %{host}',
    '--command', `if [ -d "${two.agent.dataDir}/jobs/$OUTPOST_JOB_ID" ]; then echo bad; exit 3; fi; echo good`], { env });
  t.equal(r.code, 1, r.stderr);
  const doc = parseRunJson(r.stdout);
  t.match(doc.summary, { ok: false, exitStatus: 1, interrupted: false, hosts: 2, failures: [{ key: 'failed (exit 3)', count: 1 }] });
  t.equal(doc.hosts.length, 2);
  const first = doc.host(one.url.replace('https://', ''));
  t.match(first, { agent: one.url, jobId: /^[a-z0-9-]+$/, state: 'succeeded', exitCode: 0, signal: null, error: null, output: 'good\n', outputTruncated: false });
  t.match(doc.host(two.url.replace('https://', '')), { agent: two.url, jobId: /^[a-z0-9-]+$/, state: 'failed', exitCode: 3, signal: null, error: null, output: 'bad\n' });
  for (const h of doc.hosts) t.type(h.durationMs, 'number');
  t.equal(r.stderr, '', 'nothing but NDJSON with --json');
  const status = await runOutpost(['job', 'status', String(first?.jobId), '--agent', one.url, '--json'], { env });
  t.match(JSON.parse(status.stdout), { state: 'succeeded', exitCode: 0, description: `check on ${one.url.replace('https://', '')}` });
});

t.test('candidates: the first agent is down, the next reachable one runs the job', async (t) => {
  const r = await runOutpost(['job', 'run', '--explain', '--agent', `https://127.0.0.9:1,${three.url}`, '--', 'echo', 'picked'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /candidate https:\/\/127\.0\.0\.9:1: not usable \(MASTER_AGENT_UNREACHABLE/);
  t.match(r.stderr, new RegExp(`candidate ${three.url.replace(/[.]/g, '\\.')}: reachable \\(\\d+ running`));
  t.match(r.stdout, /picked/);
});

