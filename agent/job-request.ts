/**
 * Validation of `POST /v1/jobs` bodies and list queries. Strict: unknown fields are errors, and no string
 * may hold a NUL (it cannot reach exec intact, so accepting it would run something other than asked).
 *
 * Hand-written rather than a zod schema: this runs in the agent for weeks, and zod alone would be ~12 MiB
 * of its resident memory (the config schema is parsed in a short-lived worker, see config-isolated.ts).
 * Every problem is reported as `path: message`, as zod did, so clients and tests see the same errors.
 */
import { agentError } from './errors.js';
import type { JobKind, JobSpec } from './executors/executor.js';
import { JOB_ID_PATTERN, JOB_STATES, type JobState } from './job-record.js';

export interface JobRequest {
  command?: string;
  argv?: string[];
  script?: string;
  interpreter?: string;
  args?: string[];
  env?: Record<string, string>;
  secretEnv?: Record<string, string>;
  cwd?: string;
  runAs?: string;
  loginProfile?: boolean;
  credentialKey?: string;
  processServer?: string;
  timeoutSeconds?: number;
  /** At most the agent's maxOutputBytes (AGENT_OUTPUT_LIMIT_TOO_HIGH above it). */
  maxOutputBytes?: number;
  description?: string;
  /** A template of agent.yaml instead of command, argv or script; `inputs` fill it in (templates.ts). */
  template?: string;
  inputs?: Record<string, string | number | boolean>;
}

export interface RequestProblem {
  path: string;
  message: string;
}

const MAX_ARG = 128 * 1024; // Linux MAX_ARG_STRLEN: longer single arguments cannot be exec'd
const MAX_LIST = 4096;
const USER = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const CREDENTIAL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PROCESS_SERVER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v;
}

const expected = (what: string, v: unknown): string => `Invalid input: expected ${what}, received ${typeName(v)}`;

/** Collects problems; `path` is formatted as the config errors are (`env.NAME`, `argv[0]`). */
class Checker {
  readonly problems: RequestProblem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** A string of at most `max` characters without NUL (and at least `min`). */
  text(path: string, v: unknown, max: number, min = 0): void {
    if (typeof v !== 'string') {
      this.add(path, expected('string', v));
      return;
    }
    if (v.length > max) this.add(path, `Too big: expected string to have <=${max} characters`);
    if (v.includes('\0')) this.add(path, 'must not contain NUL');
    if (v.length < min) this.add(path, `Too small: expected string to have >=${min} characters`);
  }

  matching(path: string, v: unknown, pattern: RegExp, message: string): void {
    if (typeof v !== 'string') this.add(path, expected('string', v));
    else if (!pattern.test(v)) this.add(path, message);
  }

  list(path: string, v: unknown, min: number): void {
    if (!Array.isArray(v)) {
      this.add(path, expected('array', v));
      return;
    }
    if (v.length < min) this.add(path, `Too small: expected array to have >=${min} items`);
    if (v.length > MAX_LIST) this.add(path, `Too big: expected array to have <=${MAX_LIST} items`);
    v.forEach((item, i) => this.text(`${path}[${i}]`, item, MAX_ARG));
  }

  integer(path: string, v: unknown, min: number, max: number): void {
    if (typeof v !== 'number' || Number.isNaN(v)) this.add(path, expected('number', v));
    else if (!Number.isSafeInteger(v)) this.add(path, expected('int', v));
    else if (v < min) this.add(path, `Too small: expected number to be >=${min}`);
    else if (v > max) this.add(path, `Too big: expected number to be <=${max}`);
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

type FieldCheck = (c: Checker, path: string, v: unknown) => void;

/** `env` and `secretEnv`: an object whose keys are environment names; `each` checks every value. */
function envRecord(c: Checker, p: string, v: unknown, each: (path: string, value: unknown) => void): void {
  if (!isPlainObject(v)) {
    c.add(p, expected('record', v));
    return;
  }
  for (const [name, value] of Object.entries(v)) {
    if (!ENV_NAME.test(name)) c.add(`${p}.${name}`, 'Invalid key in record');
    else each(`${p}.${name}`, value);
  }
}

const FIELDS: Readonly<Record<keyof JobRequest, FieldCheck>> = {
  command: (c, p, v) => c.text(p, v, MAX_ARG, 1),
  argv: (c, p, v) => c.list(p, v, 1),
  script: (c, p, v) => c.text(p, v, 1024 * 1024, 1),
  interpreter: (c, p, v) => c.text(p, v, 4096, 1),
  args: (c, p, v) => c.list(p, v, 0),
  env: (c, p, v) => envRecord(c, p, v, (path, value) => c.text(path, value, MAX_ARG)),
  secretEnv: (c, p, v) => envRecord(c, p, v, (path, key) => c.matching(path, key, CREDENTIAL_KEY, 'must be a credential key')),
  cwd: (c, p, v) => {
    c.text(p, v, 4096);
    if (typeof v === 'string' && !v.startsWith('/')) c.add(p, 'must be an absolute path');
  },
  runAs: (c, p, v) => c.matching(p, v, USER, 'must be a user name'),
  loginProfile: (c, p, v) => {
    if (typeof v !== 'boolean') c.add(p, expected('boolean', v));
  },
  credentialKey: (c, p, v) => c.matching(p, v, CREDENTIAL_KEY, 'must be a credential key'),
  processServer: (c, p, v) => c.matching(p, v, PROCESS_SERVER, 'must be a process server name'),
  timeoutSeconds: (c, p, v) => c.integer(p, v, 1, 31_536_000),
  maxOutputBytes: (c, p, v) => c.integer(p, v, 1, 2 ** 50),
  description: (c, p, v) => c.text(p, v, 1024),
  template: (c, p, v) => c.matching(p, v, TEMPLATE_NAME, 'must be a template name'),
  inputs: (c, p, v) => {
    if (!isPlainObject(v)) {
      c.add(p, expected('record', v));
      return;
    }
    for (const [name, value] of Object.entries(v)) {
      if (!ENV_NAME.test(name)) c.add(`${p}.${name}`, 'Invalid key in record');
      else if (typeof value === 'string') c.text(`${p}.${name}`, value, MAX_ARG);
      else if (typeof value !== 'number' && typeof value !== 'boolean') c.add(`${p}.${name}`, expected('string, number or boolean', value));
    }
  },
};

/** What a template fixes: a request naming a template may not also give these. */
const NOT_WITH_TEMPLATE = ['command', 'argv', 'script', 'interpreter', 'args', 'env', 'secretEnv', 'cwd', 'credentialKey', 'loginProfile'] as const;

function fail(problems: readonly RequestProblem[]): never {
  throw agentError('AGENT_BAD_REQUEST', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { details: { problems } });
}

/** Pure: the problems with a job request body, in the order a client should read them. */
export function jobRequestProblems(body: unknown): RequestProblem[] {
  const c = new Checker();
  if (!isPlainObject(body)) {
    c.add('(root)', expected('object', body));
    return c.problems;
  }
  for (const [key, value] of Object.entries(body)) {
    const check = Object.hasOwn(FIELDS, key) ? FIELDS[key as keyof JobRequest] : undefined;
    // `undefined` cannot come out of JSON; an explicit one means "not given", as an optional field does.
    if (!check) c.add(key, 'unknown key');
    else if (value !== undefined) check(c, key, value);
  }
  // Combinations are judged only on fields that are themselves valid (unknown keys aside).
  if (c.problems.some((p) => p.message !== 'unknown key')) return c.problems;
  const r = body as JobRequest;
  if (r.template !== undefined) {
    for (const key of NOT_WITH_TEMPLATE) if (r[key] !== undefined) c.add(key, `not with template: template ${r.template} defines what runs; pass values as inputs`);
    return c.problems;
  }
  if (r.inputs !== undefined) c.add('inputs', 'inputs go with template');
  const kinds = [r.command, r.argv, r.script].filter((v) => v !== undefined).length;
  if (kinds !== 1) c.add('(root)', 'give exactly one of command, argv, script or template');
  if (r.args !== undefined && r.script === undefined) c.add('args', 'args go with script (for argv, put them in argv)');
  for (const name of Object.keys(r.secretEnv ?? {})) {
    if (r.env && Object.hasOwn(r.env, name)) c.add(`secretEnv.${name}`, 'is also in env; give each variable once');
  }
  if (r.interpreter !== undefined && r.argv !== undefined) c.add('interpreter', 'argv runs without an interpreter; use command or script');
  return c.problems;
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
