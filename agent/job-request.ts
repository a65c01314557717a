/**
 * The agent's side of the API's request rules: a job request body (its rules are the contract's,
 * core/api/job-request.ts), job ids in paths and the list query, each refused as AGENT_BAD_REQUEST with
 * every problem named.
 */
import { agentError } from './errors.js';
import type { JobKind, JobSpec } from './executors/executor.js';
import { JOB_ID_PATTERN, JOB_STATES, type JobState } from './job-record.js';
import { Checker, type RequestProblem } from '../core/api/checker.js';
import { jobRequestProblems, type JobRequest } from '../core/api/job-request.js';

export { jobRequestProblems, type JobRequest } from '../core/api/job-request.js';

function fail(problems: readonly RequestProblem[]): never {
  throw agentError('AGENT_BAD_REQUEST', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { details: { problems } });
}

export function parseJobRequest(body: unknown): JobRequest {
  const problems = jobRequestProblems(body);
  if (problems.length > 0) fail(problems);
  return body as JobRequest;
}

export function toJobSpec(id: string, r: JobRequest, defaults: { runAs?: string | undefined; timeoutSeconds: number }): JobSpec {
  const kind: JobKind = r.command !== undefined ? 'command' : r.argv !== undefined ? 'argv' : 'script';
  const runAs = r.runAs ?? defaults.runAs;
  const timeoutSeconds = r.timeoutSeconds ?? (defaults.timeoutSeconds > 0 ? defaults.timeoutSeconds : undefined);
  return {
    id,
    kind,
    ...(r.command !== undefined ? { command: r.command } : {}),
    ...(r.argv !== undefined ? { argv: r.argv } : {}),
    ...(r.script !== undefined ? { script: r.script } : {}),
    ...(r.interpreter !== undefined ? { interpreter: r.interpreter } : {}),
    ...(r.args !== undefined ? { args: r.args } : {}),
    ...(r.env !== undefined ? { env: r.env } : {}),
    ...(r.secretEnv !== undefined ? { secretEnv: r.secretEnv } : {}),
    ...(r.cwd !== undefined ? { cwd: r.cwd } : {}),
    ...(runAs !== undefined ? { runAs } : {}),
    ...(r.loginProfile !== undefined ? { loginProfile: r.loginProfile } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(r.maxOutputBytes !== undefined ? { maxOutputBytes: r.maxOutputBytes } : {}),
    ...(r.credentialKey !== undefined ? { credentialKey: r.credentialKey } : {}),
    ...(r.processServer !== undefined ? { processServer: r.processServer } : {}),
  };
}

export function checkJobId(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) {
    throw agentError('AGENT_INVALID_JOB_ID', `${JSON.stringify(id.slice(0, 80))} is not a job id (lowercase letters, digits, hyphens)`);
  }
  return id;
}

export interface ListQuery {
  state?: JobState;
  limit: number;
  after?: string;
}

const LIST_KEYS = new Set(['state', 'limit', 'after']);

export function parseListQuery(params: URLSearchParams): ListQuery {
  const c = new Checker();
  // The last of repeated parameters counts, as with Object.fromEntries.
  const given = Object.fromEntries(params);
  for (const key of Object.keys(given)) if (!LIST_KEYS.has(key)) c.add(key, 'unknown key');
  const { state, limit: limitText, after } = given;
  if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
    c.add('state', `Invalid option: expected one of ${JOB_STATES.map((s) => `"${s}"`).join('|')}`);
  }
  const limit = limitText === undefined ? 100 : Number(limitText);
  c.integer('limit', limit, 1, 1000);
  if (after !== undefined) c.matching('after', after, JOB_ID_PATTERN, 'must be a job id');
  if (c.problems.length > 0) fail(c.problems);
  return { limit, ...(state ? { state: state as JobState } : {}), ...(after ? { after } : {}) };
}
