/**
 * The agent's HTTP API as one contract: the headers, job states and ids, and the shape of every body as
 * TypeScript types (the agent answers with them, the master and the tests' fake agent read them). The same
 * bodies as JSON Schemas, and the routes with their answers, are in routes.ts: docs/openapi.yaml is
 * generated from both (`npm run openapi:doc`), and a test checks the real agent's answers against that
 * document. Kept apart so the agent daemon, which loads this module, never builds the schemas. A change of
 * the wire starts here. Pure.
 */
import { API_VERSION_HEADER } from '../api-version.js';

export { API_VERSION, API_VERSION_HEADER } from '../api-version.js';
export type { JobRequest } from './job-request.js';

/** Header names, lowercase as Node reports them. */
export const HEADERS = {
  apiVersion: API_VERSION_HEADER,
  /** Client → agent: a submission's key; the same key again returns the job already made (200). */
  idempotencyKey: 'idempotency-key',
  /** Agent → client: `true` on the 200 that answers a repeated key. */
  idempotentReplayed: 'idempotent-replayed',
  /** Agent → client, on output: the job's state when the answer started. */
  jobState: 'x-outpost-job-state',
  /** Agent → client, on output: the offset of the first byte sent (a follower checks where it resumes). */
  outputOffset: 'x-outpost-offset',
  /** Client → agent, on /v1/events: the last event seen, to get what was missed. */
  lastEventId: 'last-event-id',
  /** Gateway → agent: who the client is and the agent's shared secret; the gateway drops these from clients. */
  clientSubject: 'x-outpost-client-subject',
  clientThumbprint: 'x-outpost-client-thumbprint',
  secret: 'x-outpost-secret',
} as const;

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'lost'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Ids the agent issues: lowercase letters, digits and hyphens; nothing a path could be built from. */
export const JOB_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Every error answer. `details` depend on the code (ERRORS.md lists the codes). */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** 201, 200 (a repeated Idempotency-Key) and 202 (cancel, abort). */
export interface JobAccepted {
  id: string;
  state: JobState;
}

export interface SubmittedBy {
  subject?: string;
  thumbprint?: string;
  address?: string;
}

/** A job in a list (GET /v1/jobs): what the agent keeps in memory, never what it runs. */
export interface JobListItem {
  id: string;
  state: JobState;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  /** How it ended: exited, timeout, cancel, abort, lost. */
  endReason: string | null;
  message: string | null;
  ranOn: { host: string; user: string } | null;
  /** `local` or `ssh:<process server>`. */
  executor?: string;
  /** At most 120 characters in a list (the record has all of it). */
  description?: string;
  /** Set once the job's output was cut (maxOutputBytes, or a write the disk refused): it ends with a marker line. */
  outputTruncated?: boolean;
}
