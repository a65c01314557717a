import t from 'tap';
import { renderSummary, exitStatus, summaryJson, formatDuration, shouldShowProgress, type HostResult } from '../../master/summary.js';

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
  t.equal(lines[4], '3 hosts: 1 succeeded, 1 failed, 1 unreachable');
  t.equal(lines[1]?.indexOf('succeeded'), lines[0]?.indexOf('STATE'), 'columns line up');
  t.notOk(text.includes('\u001b'), 'no colour when disabled');
  t.ok(renderSummary([row('a', 'failed', 1)], true).includes('\u001b[31mfailed'), 'state coloured');
});

t.test('json shape', async (t) => {
  const doc = summaryJson([row('a', 'failed', 3)], false);
  t.match(doc, { ok: false, exitStatus: 3, interrupted: false, hosts: [{ host: 'a', state: 'failed', exitCode: 3, jobId: 'j-a', agent: 'https://a' }] });
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
  t.equal(renderProgressLine(0, 20, 0, 0, 10), '[----------]  0/20 hosts done, 0 failed, 0ms');
  t.equal(renderProgressLine(10, 20, 1, 3200, 10), '[#####-----] 10/20 hosts done, 1 failed, 3.2s');
  t.equal(renderProgressLine(3, 3, 0, 61_000, 4), '[####] 3/3 hosts done, 0 failed, 1m01s');
});

t.test('what an agent answered cannot drive the terminal from the summary', async (t) => {
  const text = renderSummary([
    row('a', 'error', null, { jobId: 'j\u009b2J1', error: { code: 'AGENT_X\u001b]0;t\u0007', message: 'no\u009d0;owned\u009c such\u001b[2J job' } }),
  ], false);
  // eslint-disable-next-line no-control-regex
  t.notMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'no C0 or C1 control left');
  t.match(text, /j1\s+AGENT_X: no such job/);
});
