/**
 * Validation of `POST /v1/jobs` bodies and list queries. Strict: unknown fields are errors, and no string
 * may hold a NUL (it cannot reach exec intact, so accepting it would run something other than asked).
 */
import { z } from 'zod';
import { problemsOf } from '../core/config.js';
import { agentError } from './errors.js';
import type { JobKind, JobSpec } from './executors/executor.js';
import { JOB_ID_PATTERN, JOB_STATES, type JobState } from './job-record.js';

const MAX_ARG = 128 * 1024; // Linux MAX_ARG_STRLEN: longer single arguments cannot be exec'd
const noNul = (max: number) => z.string().max(max).refine((s) => !s.includes('\0'), 'must not contain NUL');
const user = z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}\$?$/i, 'must be a user name');

export const jobRequestSchema = z
  .object({
    command: noNul(MAX_ARG).min(1).optional(),
    argv: z.array(noNul(MAX_ARG)).min(1).max(4096).optional(),
    script: noNul(1024 * 1024).min(1).optional(),
    interpreter: noNul(4096).min(1).optional(),
    args: z.array(noNul(MAX_ARG)).max(4096).optional(),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, 'environment names: letters, digits, _'), noNul(MAX_ARG))
      .optional(),
    cwd: noNul(4096).refine((p) => p.startsWith('/'), 'must be an absolute path').optional(),
    runAs: user.optional(),
    loginProfile: z.boolean().optional(),
    credentialKey: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a credential key').optional(),
    processServer: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, 'must be a process server name').optional(),
    timeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
    description: noNul(1024).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const kinds = [r.command, r.argv, r.script].filter((v) => v !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of command, argv or script', path: [] });
    if (r.args !== undefined && r.script === undefined) {
      ctx.addIssue({ code: 'custom', message: 'args go with script (for argv, put them in argv)', path: ['args'] });
    }
    if (r.interpreter !== undefined && r.argv !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'argv runs without an interpreter; use command or script', path: ['interpreter'] });
    }
  });

export type JobRequest = z.output<typeof jobRequestSchema>;

function fail(error: z.ZodError): never {
  const problems = problemsOf(error);
  throw agentError('AGENT_BAD_REQUEST', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { details: { problems } });
}

export function parseJobRequest(body: unknown): JobRequest {
  const result = jobRequestSchema.safeParse(body);
  if (!result.success) fail(result.error);
  return result.data;
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
    ...(r.cwd !== undefined ? { cwd: r.cwd } : {}),
    ...(runAs !== undefined ? { runAs } : {}),
    ...(r.loginProfile !== undefined ? { loginProfile: r.loginProfile } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
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

const listSchema = z
  .object({
    state: z.enum(JOB_STATES).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    after: z.string().regex(JOB_ID_PATTERN, 'must be a job id').optional(),
  })
  .strict();

export function parseListQuery(params: URLSearchParams): ListQuery {
  const result = listSchema.safeParse(Object.fromEntries(params));
  if (!result.success) fail(result.error);
  const { state, limit, after } = result.data;
  return { limit, ...(state ? { state } : {}), ...(after ? { after } : {}) };
}
