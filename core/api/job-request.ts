/**
 * The body of `POST /v1/jobs`, declared once as data: the agent validates requests with it
 * (jobRequestProblems), the master builds requests of its type, and docs/openapi.yaml publishes the JSON
 * Schema derived from it (jobRequestSchema). Strict: unknown fields are errors, and no string may hold a
 * NUL (it cannot reach exec intact, so accepting it would run something other than asked).
 *
 * Hand-written rather than a zod schema: the agent runs this for weeks, and zod alone would be ~12 MiB of
 * its resident memory. Every problem is reported as `path: message`, as zod did, so clients and tests
 * see the same errors. Pure.
 */
import { Checker, expected, isPlainObject, MAX_ARG, type RequestProblem } from './checker.js';

export type { RequestProblem } from './checker.js';

/** The wire body. Exactly one of command, argv, script or template is set. */
export interface JobRequest {
  command?: string;
  argv?: string[];
  script?: string;
  interpreter?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Variable name → credential key of the agent; resolved when the job starts, never stored. */
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
  /** A template of agent.yaml instead of command, argv or script; `inputs` fill it in. */
  template?: string;
  inputs?: Record<string, string | number | boolean>;
}

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const CREDENTIAL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** One field, as data: the checker below and the JSON Schema both read it. */
type Field =
  | { readonly type: 'text'; readonly maxLength: number; readonly minLength?: number; readonly absolute?: boolean; readonly doc: string }
  | { readonly type: 'name'; readonly pattern: RegExp; readonly message: string; readonly doc: string }
  | { readonly type: 'words'; readonly minItems: number; readonly doc: string }
  | { readonly type: 'integer'; readonly minimum: number; readonly maximum: number; readonly doc: string }
  | { readonly type: 'boolean'; readonly doc: string }
  | { readonly type: 'env'; readonly values: 'text' | 'credentialKey'; readonly doc: string }
  | { readonly type: 'inputs'; readonly doc: string };

/** Linux MAX_ARG_STRLEN bounds a single argument; lists are bounded too. */
const MAX_LIST = 4096;

export const JOB_REQUEST_FIELDS: Readonly<Record<keyof JobRequest, Field>> = {
  command: { type: 'text', maxLength: MAX_ARG, minLength: 1, doc: 'A command line, run by the interpreter (default /bin/sh) with -c.' },
  argv: { type: 'words', minItems: 1, doc: 'A program and its arguments, exec\'d as given: no shell.' },
  script: { type: 'text', maxLength: 1024 * 1024, minLength: 1, doc: 'A script body, fed to the interpreter through a pipe.' },
  interpreter: { type: 'text', maxLength: 4096, minLength: 1, doc: 'For command and script: a name from localInterpreter or a path on the agent\'s interpreterWhitelist.' },
  args: { type: 'words', minItems: 0, doc: 'For script: its positional parameters.' },
  env: { type: 'env', values: 'text', doc: 'Variables added to the job\'s environment (the API shows their names only).' },
  secretEnv: { type: 'env', values: 'credentialKey', doc: 'Variables whose values are credentials of the agent, named by key: resolved at start, masked in output, never stored.' },
  cwd: { type: 'text', maxLength: 4096, absolute: true, doc: 'Working directory (absolute); default the run-as user\'s home.' },
  runAs: { type: 'name', pattern: USER, message: 'must be a user name', doc: 'The OS user the job runs as (runAs.allowedUsers); default runAs.defaultUser.' },
  loginProfile: { type: 'boolean', doc: 'Run through a login shell, so the user\'s profile is read first.' },
  credentialKey: { type: 'name', pattern: CREDENTIAL_KEY, message: 'must be a credential key', doc: 'For SSH jobs: the credential the agent logs in with.' },
  processServer: { type: 'name', pattern: NAME, message: 'must be a process server name', doc: 'Run agentlessly over SSH on this process server of agent.yaml; default this host.' },
  timeoutSeconds: { type: 'integer', minimum: 1, maximum: 31_536_000, doc: 'Ended with TERM (then KILL) after this long: state timed_out.' },
  maxOutputBytes: { type: 'integer', minimum: 1, maximum: 2 ** 50, doc: 'Output kept, at most the agent\'s maxOutputBytes; the rest is dropped after one marker line.' },
  description: { type: 'text', maxLength: 1024, doc: 'Free text shown in lists and logs.' },
  template: { type: 'name', pattern: NAME, message: 'must be a template name', doc: 'A template of agent.yaml; it defines what runs, `inputs` fill it in.' },
  inputs: { type: 'inputs', doc: 'Values for the template\'s inputs, checked against their declared types.' },
};

/** What a template fixes: a request naming a template may not also give these. */
const NOT_WITH_TEMPLATE = ['command', 'argv', 'script', 'interpreter', 'args', 'env', 'secretEnv', 'cwd', 'credentialKey', 'loginProfile'] as const;

function checkField(c: Checker, path: string, f: Field, v: unknown): void {
  switch (f.type) {
    case 'text':
      c.text(path, v, f.maxLength, f.minLength);
      if (f.absolute && typeof v === 'string' && !v.startsWith('/')) c.add(path, 'must be an absolute path');
      return;
    case 'name':
      return c.matching(path, v, f.pattern, f.message);
    case 'words':
      return c.list(path, v, f.minItems, MAX_LIST);
    case 'integer':
      return c.integer(path, v, f.minimum, f.maximum);
    case 'boolean':
      if (typeof v !== 'boolean') c.add(path, expected('boolean', v));
      return;
    case 'env':
      return c.record(path, v, ENV_NAME, (p, value) => (f.values === 'text' ? c.text(p, value, MAX_ARG) : c.matching(p, value, CREDENTIAL_KEY, 'must be a credential key')));
    case 'inputs':
      return c.record(path, v, ENV_NAME, (p, value) => {
        if (typeof value === 'string') c.text(p, value, MAX_ARG);
        else if (typeof value !== 'number' && typeof value !== 'boolean') c.add(p, expected('string, number or boolean', value));
      });
  }
}

/** The problems with a job request body, in the order a client should read them. */
export function jobRequestProblems(body: unknown): RequestProblem[] {
  const c = new Checker();
  if (!isPlainObject(body)) {
    c.add('(root)', expected('object', body));
    return c.problems;
  }
  for (const [key, value] of Object.entries(body)) {
    const field = Object.hasOwn(JOB_REQUEST_FIELDS, key) ? JOB_REQUEST_FIELDS[key as keyof JobRequest] : undefined;
    // `undefined` cannot come out of JSON; an explicit one means "not given", as an optional field does.
    if (!field) c.add(key, 'unknown key');
    else if (value !== undefined) checkField(c, key, field, value);
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

const NO_NUL = '^[^\\u0000]*$';

function fieldSchema(f: Field): Record<string, unknown> {
  switch (f.type) {
    case 'text':
      return { type: 'string', description: f.doc, maxLength: f.maxLength, ...(f.minLength ? { minLength: f.minLength } : {}), pattern: f.absolute ? '^/[^\\u0000]*$' : NO_NUL };
    case 'name':
      return { type: 'string', description: f.doc, pattern: f.pattern.source };
    case 'words':
      return { type: 'array', description: f.doc, ...(f.minItems ? { minItems: f.minItems } : {}), maxItems: MAX_LIST, items: { type: 'string', maxLength: MAX_ARG, pattern: NO_NUL } };
    case 'integer':
      return { type: 'integer', description: f.doc, minimum: f.minimum, maximum: f.maximum };
    case 'boolean':
      return { type: 'boolean', description: f.doc };
    case 'env':
      return {
        type: 'object',
        description: f.doc,
        propertyNames: { pattern: ENV_NAME.source },
        additionalProperties: f.values === 'text' ? { type: 'string', maxLength: MAX_ARG, pattern: NO_NUL } : { type: 'string', pattern: CREDENTIAL_KEY.source },
      };
    case 'inputs':
      return {
        type: 'object',
        description: f.doc,
        propertyNames: { pattern: ENV_NAME.source },
        additionalProperties: { anyOf: [{ type: 'string', maxLength: MAX_ARG, pattern: NO_NUL }, { type: 'number' }, { type: 'boolean' }] },
      };
  }
}

/** The JSON Schema (2020-12) of the body, for docs/openapi.yaml. */
export function jobRequestSchema(): Record<string, unknown> {
  return {
    type: 'object',
    description:
      'Exactly one of command, argv, script or template. args go with script; interpreter not with argv; a variable is in env or secretEnv, not both. ' +
      `With template, only inputs, runAs, processServer, timeoutSeconds, maxOutputBytes and description may be given.`,
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(JOB_REQUEST_FIELDS).map(([k, f]) => [k, fieldSchema(f)])),
    oneOf: ['command', 'argv', 'script', 'template'].map((k) => ({ required: [k] })),
  };
}
