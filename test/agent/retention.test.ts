import t from 'tap';
import { expiredJobs } from '../../agent/retention.js';
import type { JobRecord, JobState } from '../../agent/job-record.js';

const DAY = 86_400_000;
const now = Date.parse('2026-11-23T12:00:00Z');
function job(id: string, state: JobState, endedDaysAgo: number | null): JobRecord {
  return {
    id, state, spec: { id, kind: 'argv', argv: ['/bin/true'] }, executor: 'local', createdAt: new Date(now - 30 * DAY).toISOString(),
    startedAt: null, endedAt: endedDaysAgo === null ? null : new Date(now - endedDaysAgo * DAY).toISOString(),
    exitCode: null, signal: null, endReason: null, message: null, runtime: null, ranOn: null, submittedBy: null,
  };
}

t.test('old ended jobs go; running and queued stay however old', async (t) => {
  const jobs = [job('old', 'succeeded', 20), job('new', 'failed', 1), job('run', 'running', null), job('q', 'queued', null)];
  t.same(expiredJobs(jobs, jobs.length, { maxAgeDays: 14, maxJobs: 100 }, now), ['old']);
});

t.test('beyond maxJobs the oldest ended go first', async (t) => {
  const jobs = [job('c', 'succeeded', 1), job('a', 'lost', 3), job('b', 'cancelled', 2), job('run', 'running', null)];
  t.same(expiredJobs(jobs, jobs.length, { maxAgeDays: 14, maxJobs: 2 }, now), ['a', 'b']);
  t.same(expiredJobs(jobs, jobs.length, { maxAgeDays: 14, maxJobs: 10 }, now), []);
});
