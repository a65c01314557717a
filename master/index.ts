/**
 * `outpost/master`: the master as a library. `runJobs` drives the same fan-out engine as `outpost job run`
 * (see docs/master.md, "Library use"); the rest are the types and helpers a caller needs around it.
 */
export { runJobs, type RunJobsOptions, type RunJobsResult } from './run-jobs.js';
export type { FanOutEvents } from './fan-out.js';
export type { HostResult, HostState } from './summary.js';
export { groupFailures, type FailureGroup } from './summary.js';
export type { Target } from './targets.js';
export { parseTargetSpec, parseAgentsFile } from './targets.js';
export { buildJobRequest, type JobRequest, type JobRunInput } from './job-request.js';
export { loadCredentials, type CredentialOptions, type TlsCredentials } from './credentials.js';
export type { Strategy, Choice } from './candidates.js';
export { AgentClient, ClientPool, type JobRecord } from './client.js';
