/** Which ended jobs the retention policy removes: older than maxAgeDays, then the oldest beyond maxJobs. */
import { FINAL_STATES, type JobSummary } from './job-record.js';

export interface RetentionPolicy {
  readonly maxAgeDays: number;
  readonly maxJobs: number;
}

/** Pure: running and queued jobs are never chosen, whatever the count. */
export function expiredJobs(jobs: Iterable<Pick<JobSummary, 'id' | 'state' | 'endedAt'>>, total: number, policy: RetentionPolicy, now: number): string[] {
  const ended = [...jobs].filter((j) => FINAL_STATES.has(j.state) && j.endedAt);
  ended.sort((a, b) => (a.endedAt as string).localeCompare(b.endedAt as string));
  const cutoff = now - policy.maxAgeDays * 86_400_000;
  const excess = total - policy.maxJobs;
  return ended.filter((j, i) => Date.parse(j.endedAt as string) < cutoff || i < excess).map((j) => j.id);
}
