/**
 * The chaos run's verdict, from three independent accounts of the same jobs: what the master reported for
 * each submission, what the agent says at the end (its job list, by the token each job carries as its
 * description), and what really ran (each job appends its token to a file). Pure: no I/O.
 */

/** What the master reported for one submission (runJobs' row for the one host). */
export interface Submission {
  token: string;
  jobId: string | null;
  /** succeeded, failed, unreachable, … as the master reported it. */
  state: string;
}

/** One job in the agent's list at the end. */
export interface AgentJob {
  id: string;
  state: string;
  /** The submission's token (the job's description). */
  token: string;
  message?: string | null;
}

export interface ChaosCounts {
  submitted: number;
  /** Submissions the master got a job id for. */
  accepted: number;
  /** Agent jobs that ended succeeded. */
  completed: number;
  /** Accepted but gone: unknown to the agent at the end, ended `lost`, or said to have run but never ran. */
  lost: number;
  /** Tokens with more than one agent job, or that ran more than once. */
  duplicated: number;
  /** The master's report disagrees with the agent's (another state, or "not submitted" for a job that exists). */
  wrongState: number;
  /** Accepted jobs that failed before running (e.g. their SSH target was down), said so on every side. */
  failedToStart: number;
  /** Which tokens were counted where, for the report. */
  details: { lost: string[]; duplicated: string[]; wrongState: string[] };
}

/** States that say the job ran. `failed` is not one: a job whose start failed (its SSH target down) is
 * failed without having run, which every account then agrees on; one that ran and failed wrote its token. */
const RAN_STATES = new Set(['succeeded', 'timed_out']);

export function tallyChaos(submissions: readonly Submission[], agentJobs: readonly AgentJob[], ranCounts: ReadonlyMap<string, number>): ChaosCounts {
  const byToken = new Map<string, AgentJob[]>();
  for (const j of agentJobs) byToken.set(j.token, [...(byToken.get(j.token) ?? []), j]);
  const lost = new Set<string>();
  const duplicated = new Set<string>();
  const wrong = new Set<string>();
  for (const [token, jobs] of byToken) {
    if (jobs.length > 1) duplicated.add(token);
  }
  for (const [token, n] of ranCounts) if (n > 1) duplicated.add(token);
  for (const s of submissions) {
    const jobs = byToken.get(s.token) ?? [];
    const job = jobs.find((j) => j.id === s.jobId) ?? jobs[0];
    const ran = ranCounts.get(s.token) ?? 0;
    if (s.jobId !== null && !jobs.some((j) => j.id === s.jobId)) lost.add(s.token);
    if (job?.state === 'lost') lost.add(s.token);
    if (job && RAN_STATES.has(job.state) && ran === 0) lost.add(s.token);
    if (s.jobId === null && job) wrong.add(s.token);
    if (s.jobId !== null && job && job.state !== s.state) wrong.add(s.token);
  }
  return {
    submitted: submissions.length,
    accepted: submissions.filter((s) => s.jobId !== null).length,
    completed: agentJobs.filter((j) => j.state === 'succeeded').length,
    failedToStart: agentJobs.filter((j) => j.state === 'failed' && (ranCounts.get(j.token) ?? 0) === 0).length,
    lost: lost.size,
    duplicated: duplicated.size,
    wrongState: wrong.size,
    details: { lost: [...lost], duplicated: [...duplicated], wrongState: [...wrong] },
  };
}

/** The longest stretch without a successful probe, in ms: probes are [time, ok] in time order. */
export function longestOutage(probes: readonly (readonly [number, boolean])[]): number {
  let longest = 0;
  let lastOk: number | null = null;
  let down = false;
  for (const [at, ok] of probes) {
    if (ok) {
      if (down && lastOk !== null) longest = Math.max(longest, at - lastOk);
      lastOk = at;
      down = false;
    } else {
      down = true;
    }
  }
  return longest;
}
