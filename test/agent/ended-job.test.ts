import t from 'tap';
import { EndedJob, packTime } from '../../agent/ended-job.js';
import type { JobSummary } from '../../agent/job-record.js';

const at = { file: 1 as const, offset: 10, length: 20 };

function summary(over: Partial<JobSummary> = {}): JobSummary {
  return {
    id: 'j1', state: 'failed', createdAt: '2026-03-01T10:00:00.123Z', startedAt: '2026-03-01T10:00:00.200Z',
    endedAt: '2026-04-15T12:30:00.999Z', exitCode: 3, signal: null, endReason: 'exited', message: null,
    runtime: { supervisorPid: 12, supervisorStart: '999' }, ranOn: null, ...over,
  };
}

const view = (j: JobSummary): Record<string, unknown> => ({
  id: j.id, state: j.state, createdAt: j.createdAt, startedAt: j.startedAt, endedAt: j.endedAt, exitCode: j.exitCode,
  signal: j.signal, endReason: j.endReason, message: j.message, runtime: j.runtime, ranOn: j.ranOn,
});

t.test('times pack to numbers only when they round-trip exactly', async (t) => {
  t.equal(packTime('2026-03-01T10:00:00.123Z'), Date.parse('2026-03-01T10:00:00.123Z'));
  for (const odd of ['2026-03-01T10:00:00Z', '2026-03-01', 'yesterday', '2026-03-01T11:00:00.000+01:00']) t.equal(packTime(odd), odd);
});

t.test('an ended job reads back exactly what it was given, except the runtime facts', async (t) => {
  const given = summary();
  const j = new EndedJob('j1', given, at);
  t.same(view(j), { ...view(given), runtime: null });
  // A start and end more than 24 days after creation (beyond a small integer) still come back exact.
  t.equal(j.endedAt, '2026-04-15T12:30:00.999Z');
  const odd = new EndedJob('j2', summary({ id: 'j2', createdAt: 'not a time', startedAt: '2026-03-01T10:00:00Z', endedAt: '2026-03-01T10:00:01.000Z' }), at);
  t.equal(odd.createdAt, 'not a time');
  t.equal(odd.startedAt, '2026-03-01T10:00:00Z');
  t.equal(odd.endedAt, '2026-03-01T10:00:01.000Z');
  const fromSsh = new EndedJob('j3', summary({ signal: 'SIGKILL', endReason: 'abort', state: 'cancelled', ranOn: { host: 'db1', user: 'batch' }, message: 'x' }), at);
  t.match(view(fromSsh), { signal: 'SIGKILL', endReason: 'abort', state: 'cancelled', ranOn: { host: 'db1', user: 'batch' }, message: 'x' });
  t.same({ file: j.file, offset: j.offset, length: j.length }, at);
});

t.test('later changes go through the same packing', async (t) => {
  const j = new EndedJob('j1', summary(), at);
  j.state = 'lost';
  j.endedAt = '2026-03-02T00:00:00.000Z';
  j.startedAt = null;
  j.signal = 'SIGTERM';
  j.endReason = 'lost';
  j.runtime = { supervisorPid: 1 };
  t.match(view(j), { state: 'lost', endedAt: '2026-03-02T00:00:00.000Z', startedAt: null, signal: 'SIGTERM', endReason: 'lost', runtime: null });
});
