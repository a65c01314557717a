import t from 'tap';
import { renderSummary, exitStatus, summaryJson, formatDuration, shouldShowProgress, groupFailures, type HostResult } from '../../master/summary.js';

const row = (host: string, state: HostResult['state'], exitCode: number | null = null, extra: Partial<HostResult> = {}): HostResult => ({
  host, agent: `https://${host}`, jobId: `j-${host}`, state, exitCode, signal: null, durationMs: 1500, error: null, outputBytes: 0, ...extra,
});

t.test('exit status rules', async (t) => {
  t.equal(exitStatus([row('a', 'succeeded', 0), row('b', 'succeeded', 0)], false), 0);
  t.equal(exitStatus([row('a', 'succeeded', 0), row('b', 'failed', 4)], false), 1, 'any failed host makes it non-zero');
  t.equal(exitStatus([row('a', 'failed', 4)], false), 4, 'one host: its own exit code, like ssh');
  t.equal(exitStatus([row('a', 'timed_out')], false), 124);
  t.equal(exitStatus([row('a', 'unreachable')], false), 1);
  t.equal(exitStatus([row('a', 'succeeded', 0), row('b', 'skipped')], false), 1);
  t.equal(exitStatus([row('a', 'cancelled')], true), 130);
  t.equal(exitStatus([], false), 1, 'no hosts is not success');
});

t.test('summary table', async (t) => {
  const text = renderSummary([
    row('web01', 'succeeded', 0),
    row('db-long-name', 'failed', 4, { durationMs: 65_000 }),
    row('x', 'unreachable', null, { jobId: null, durationMs: null, error: { code: 'MASTER_AGENT_UNREACHABLE', message: 'refused' } }),
  ], false);
  const lines = text.trimEnd().split('\n');
  t.match(lines[0], /^HOST\s+STATE\s+EXIT\s+DURATION\s+JOB\s+NOTE$/);
  t.match(lines[1], /^web01\s+succeeded\s+0\s+1\.5s\s+j-web01$/);
  t.match(lines[2], /^db-long-name\s+failed\s+4\s+1m05s/);
  t.match(lines[3], /^x\s+unreachable\s+-\s+-\s+-\s+MASTER_AGENT_UNREACHABLE: refused$/);
  t.same(lines.slice(4), [
    '', 'not succeeded, by cause:', '  1 host: failed (exit 4) (db-long-name)', '  1 host: MASTER_AGENT_UNREACHABLE (x)',
    '3 hosts: 1 succeeded, 1 failed, 1 unreachable',
  ]);
  t.equal(lines[1]?.indexOf('succeeded'), lines[0]?.indexOf('STATE'), 'columns line up');
  t.notOk(text.includes('\u001b'), 'no colour when disabled');
  t.ok(renderSummary([row('a', 'failed', 1)], true).includes('\u001b[31mfailed'), 'state coloured');
});

t.test('failures grouped by cause, largest group first, a few hosts named', async (t) => {
  const timeout = { code: 'MASTER_CONNECT_TIMEOUT', message: 'no TLS connection' };
  const refused = { code: 'MASTER_AGENT_UNREACHABLE', message: 'ECONNREFUSED' };
  const rows = [
    row('ok1', 'succeeded', 0),
    row('r1', 'unreachable', null, { error: refused }),
    ...['t1', 't2', 't3', 't4'].map((h) => row(h, 'unreachable', null, { error: timeout })),
    row('f1', 'failed', 2), row('f2', 'failed', 2), row('k1', 'cancelled', null, { signal: 'SIGTERM' }), row('o1', 'timed_out'),
  ];
  t.same(groupFailures(rows), [
    { key: 'MASTER_CONNECT_TIMEOUT', count: 4, hosts: ['t1', 't2', 't3'] },
    { key: 'failed (exit 2)', count: 2, hosts: ['f1', 'f2'] },
    { key: 'MASTER_AGENT_UNREACHABLE', count: 1, hosts: ['r1'] },
    { key: 'cancelled (SIGTERM)', count: 1, hosts: ['k1'] },
    { key: 'timed_out', count: 1, hosts: ['o1'] },
  ]);
  const text = renderSummary(rows, false);
  t.match(text, /^ {2}4 hosts: MASTER_CONNECT_TIMEOUT \(t1, t2, t3, …\)$/m);
  const failuresOnly = renderSummary(rows, false, { failuresOnly: true });
  t.notMatch(failuresOnly, /ok1/, 'failures-only table leaves successes out');
  t.match(failuresOnly, /^10 hosts: 1 succeeded, 5 unreachable, 2 failed, 1 cancelled, 1 timed_out$/m, 'the tally still counts every host');
  t.equal(renderSummary([row('a', 'succeeded', 0)], false, { failuresOnly: true }), '1 host: 1 succeeded\n', 'all succeeded: only the tally');
});

t.test('json summary line', async (t) => {
  const doc = summaryJson([row('a', 'failed', 3), row('b', 'succeeded', 0)], false);
  t.same(doc, {
    type: 'summary', ok: false, exitStatus: 1, interrupted: false, stoppedEarly: false, hosts: 2,
    states: { failed: 1, succeeded: 1 }, failures: [{ key: 'failed (exit 3)', count: 1, hosts: ['a'] }],
  });
});

t.test('durations and progress decision', async (t) => {
  t.equal(formatDuration(null), '-');
  t.equal(formatDuration(12), '12ms');
  t.equal(formatDuration(2500), '2.5s');
  t.equal(shouldShowProgress({ isTTY: true, hosts: 10, json: false, disabled: false }), true);
  t.equal(shouldShowProgress({ isTTY: false, hosts: 10, json: false, disabled: false }), false, 'quiet when piped');
  t.equal(shouldShowProgress({ isTTY: true, hosts: 1, json: false, disabled: false }), false);
  t.equal(shouldShowProgress({ isTTY: true, hosts: 10, json: true, disabled: false }), false);
  t.equal(shouldShowProgress({ isTTY: true, hosts: 10, json: false, disabled: true }), false);
});

t.test('progress line', async (t) => {
  const { renderProgressLine } = await import('../../master/reporter.js');
  t.equal(renderProgressLine({ done: 0, total: 20, failed: 0, running: 0, elapsedMs: 0 }, 10), '[----------]  0/20 hosts done, 0 failed, 0 running, 0.0 hosts/s, 0ms');
  t.equal(renderProgressLine({ done: 10, total: 20, failed: 1, running: 4, elapsedMs: 3200 }, 10), '[#####-----] 10/20 hosts done, 1 failed, 4 running, 3.1 hosts/s, 3.2s');
  t.equal(renderProgressLine({ done: 3000, total: 3000, failed: 0, running: 0, elapsedMs: 12_000 }, 4), '[####] 3000/3000 hosts done, 0 failed, 0 running, 250 hosts/s, 12.0s');
});

t.test('what an agent answered cannot drive the terminal from the summary', async (t) => {
  const text = renderSummary([
    row('a', 'error', null, { jobId: 'j\u009b2J1', error: { code: 'AGENT_X\u001b]0;t\u0007', message: 'no\u009d0;owned\u009c such\u001b[2J job' } }),
  ], false);
  // eslint-disable-next-line no-control-regex
  t.notMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'no C0 or C1 control left');
  t.match(text, /j1\s+AGENT_X: no such job/);
});
