/** The job record: what the API shows and the journal keeps. Pure types and transitions. */
import type { ExitInfo, JobSpec, RuntimeInfo } from './executors/executor.js';

import { JOB_ID_PATTERN, JOB_STATES, type JobListItem, type JobState } from '../core/api/contract.js';

export { JOB_ID_PATTERN, JOB_STATES, type JobState };
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'lost']);


export interface SubmittedBy {
  readonly subject?: string;
  readonly thumbprint?: string;
  readonly address?: string;
}

/**
 * What the agent keeps in memory for every job, finished ones included: what listing, the queue, status,
 * retention and metrics need, and every field that changes after the job is created. The rest of the
 * record (what was asked: spec, description, executor, submittedBy) never changes and is read from the
 * job store's files when a job is shown (job-store.ts).
 */
export interface JobSummary extends JobListItem {
  readonly id: string;
  readonly createdAt: string;
  runtime: RuntimeInfo | null;
  /** For lists: where it runs, and its description (an ended job keeps the first LIST_DESCRIPTION_CHARS). */
  readonly executor?: string;
  readonly description?: string;
}

/** How much of a description an ended job keeps in memory for lists; the record has all of it. */
export const LIST_DESCRIPTION_CHARS = 120;

/** A description as lists show it: whole up to LIST_DESCRIPTION_CHARS, else cut with an ellipsis. */
export function listDescription(description: string | undefined): string | undefined {
  if (description === undefined || description.length <= LIST_DESCRIPTION_CHARS) return description;
  return `${description.slice(0, LIST_DESCRIPTION_CHARS - 1)}…`;
}

/**
 * A job as lists show it (GET /v1/jobs, the status page's table): its summary, where it runs and a short
 * description — never what it runs. Built from what the agent keeps in memory, so listing never reads a
 * record back from disk and costs the same whatever the jobs' scripts or output (GET /v1/jobs/{id} has the rest).
 */
export function listView(j: JobSummary): JobListItem {
  const description = listDescription(j.description);
  return {
    id: j.id,
    state: j.state,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    endedAt: j.endedAt,
    exitCode: j.exitCode,
    signal: j.signal,
    endReason: j.endReason,
    message: j.message,
    ranOn: j.ranOn,
    ...(j.executor !== undefined ? { executor: j.executor } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(j.outputTruncated ? { outputTruncated: true } : {}),
  };
}

/** The fields of a JobSummary that change after creation (what journal updates carry). */
export const MUTABLE_FIELDS = ['state', 'startedAt', 'endedAt', 'exitCode', 'signal', 'endReason', 'message', 'runtime', 'ranOn', 'outputTruncated'] as const;

export interface JobRecord extends JobSummary {
  readonly spec: JobSpec;
  readonly description?: string;
  /** 'local' or `ssh:<processServer>`. */
  readonly executor: string;
  readonly submittedBy: SubmittedBy | null;
  /** Set when the job came from a template: its name and the inputs given (secret ones masked). */
  readonly template?: { readonly name: string; readonly inputs: Readonly<Record<string, string | number | boolean>> };
  /** The client's Idempotency-Key and the fingerprint of the request it came with (idempotency.ts). */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string };
  /**
   * Set, durably, before the job's process is started: the boot it was started in
   * (/proc/sys/kernel/random/boot_id). After a crash, a job with this mark is never started again:
   * it is re-attached, or `lost` when the host restarted meanwhile and its fate cannot be known.
   */
  dispatch?: { readonly boot: string };
}

export function stateForExit(exit: ExitInfo): JobState {
  switch (exit.reason) {
    case 'exited':
      return exit.exitCode === 0 ? 'succeeded' : 'failed';
    case 'timeout':
      return 'timed_out';
    case 'cancel':
    case 'abort':
      return 'cancelled';
    case 'lost':
      return 'lost';
  }
}

/**
 * The API's view of a job: the record minus executor internals (runtime pids) and minus environment
 * values. Read-only monitors see jobs too, and the agent cannot tell them from submitters, so `env` shows
 * as its names only (`envNames`); `secretEnv` shows which credential key feeds which name, never a value.
 */
export function publicView(r: JobRecord): Record<string, unknown> {
  // The fingerprint hashes env values too: a read-only monitor could test guesses against it.
  const { spec, runtime: _runtime, idempotency, dispatch: _dispatch, ...rest } = r;
  const { id: _id, script, env, ...specRest } = spec;
  return {
    ...rest,
    ...(idempotency ? { idempotencyKey: idempotency.key } : {}),
    ...specRest,
    ...(env !== undefined ? { envNames: Object.keys(env).sort() } : {}),
    ...(script !== undefined ? { scriptBytes: Buffer.byteLength(script) } : {}),
  };
}

/** Sortable, unique, and matching JOB_ID_PATTERN: base-36 time, then randomness. */
export function newJobId(now: number, random: Buffer): string {
  return `${now.toString(36)}-${random.toString('hex')}`;
}
