/**
 * Turns what the operator typed into the body of `POST /v1/jobs` (docs/agent.md, HTTP API). Pure: no I/O, so every
 * rule is unit-tested. Words after `--` travel as `argv` exactly as the shell split them — never joined
 * and re-split — so `-- sh -c 'exit 4'` runs `sh` with the two arguments `-c` and `exit 4`.
 */
import { masterError } from './errors.js';
import { JOB_ID_PATTERN, type JobRequest } from '../core/api/contract.js';

export type { JobRequest } from '../core/api/contract.js';

export interface JobRunInput {
  /** Words given as operands (after `--`). */
  words: readonly string[];
  command?: string | undefined;
  /** Text of the --script file (read by the caller). */
  scriptText?: string | undefined;
  interpreter?: string | undefined;
  /** `--env KEY=VALUE`, repeatable. */
  env?: readonly string[] | undefined;
  cwd?: string | undefined;
  runAs?: string | undefined;
  /** `--login-profile`: a login shell reads the user's profile first. */
  loginProfile?: boolean | undefined;
  credentialKey?: string | undefined;
  processServer?: string | undefined;
  /** `--timeout S` as typed. */
  timeout?: string | undefined;
  /** `--description` format; `%{host}` and `%{command}` are replaced per host. */
  description?: string | undefined;
  /** `--template NAME`: run the agent's template instead of a command of our own. */
  template?: string | undefined;
  /** `--input NAME=VALUE`, repeatable (with --template). */
  inputs?: readonly string[] | undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseSeconds(text: string, option: string): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) {
    throw masterError('MASTER_USAGE', `${option} must be a number of seconds, got "${text}"`);
  }
  const value = Number(text);
  if (!(value > 0) || value > 7 * 24 * 3600) {
    throw masterError('MASTER_USAGE', `${option} must be between 0 and 604800 seconds, got "${text}"`);
  }
  return value;
}

export function parsePositiveInt(text: string, option: string, max = 10_000): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > max) {
    throw masterError('MASTER_USAGE', `${option} must be a whole number from 1 to ${max}, got "${text}"`);
  }
  return Number(text);
}

/**
 * Builds the job body. The description is left as a format: `renderDescription` fills it per host.
 */
export function buildJobRequest(input: JobRunInput): JobRequest {
  if (input.template !== undefined) return buildTemplateRequest(input);
  if (input.inputs && input.inputs.length > 0) throw masterError('MASTER_USAGE', '--input goes with --template');
  // With --script, words after -- are the script's positional parameters, not a second job kind.
  const wordsAreJob = input.words.length > 0 && input.scriptText === undefined;
  const kinds = [
    wordsAreJob ? 'words after --' : null,
    input.command !== undefined ? '--command' : null,
    input.scriptText !== undefined ? '--script' : null,
  ].filter((k): k is string => k !== null);
  if (kinds.length === 0) {
    throw masterError('MASTER_USAGE', 'nothing to run: give the command after `--`, or --command LINE, or --script FILE');
  }
  if (kinds.length > 1) {
    throw masterError('MASTER_USAGE', `give only one of ${kinds.join(', ')}`);
  }
  const body: JobRequest = {};
  if (input.scriptText !== undefined) {
    if (input.scriptText.length === 0) throw masterError('MASTER_USAGE', 'the --script file is empty');
    body.script = input.scriptText;
    if (input.words.length > 0) body.args = [...input.words];
  } else if (input.command !== undefined) {
    if (input.command.trim() === '') throw masterError('MASTER_USAGE', '--command needs a non-empty command line');
    body.command = input.command;
  } else {
    body.argv = [...input.words];
  }
  if (input.interpreter !== undefined) {
    if (body.argv) throw masterError('MASTER_USAGE', '--interpreter applies to --command and --script, not to words after --');
    body.interpreter = input.interpreter;
  }
  if (input.env && input.env.length > 0) {
    const env: Record<string, string> = {};
    for (const pair of input.env) {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (eq < 0 || !ENV_NAME.test(name)) {
        throw masterError('MASTER_USAGE', `--env needs NAME=VALUE with a shell-safe NAME, got "${name}"`);
      }
      env[name] = pair.slice(eq + 1);
    }
    body.env = env;
  }
  if (input.cwd !== undefined) body.cwd = input.cwd;
  if (input.loginProfile) body.loginProfile = true;
  if (input.runAs !== undefined) body.runAs = input.runAs;
  if (input.credentialKey !== undefined) body.credentialKey = input.credentialKey;
  if (input.processServer !== undefined) body.processServer = input.processServer;
  if (input.timeout !== undefined) body.timeoutSeconds = parseSeconds(input.timeout, '--timeout');
  if (input.description !== undefined) {
    renderDescription(input.description, { host: 'x', command: 'x' }); // fail fast on unknown placeholders
    body.description = input.description;
  }
  return body;
}

/** `--template NAME --input k=v …`: what the template leaves open is all the operator may add. */
function buildTemplateRequest(input: JobRunInput): JobRequest {
  const clashes = [
    input.words.length > 0 ? 'words after --' : null,
    input.command !== undefined ? '--command' : null,
    input.scriptText !== undefined ? '--script' : null,
    input.interpreter !== undefined ? '--interpreter' : null,
    input.env && input.env.length > 0 ? '--env' : null,
    input.cwd !== undefined ? '--cwd' : null,
    input.credentialKey !== undefined ? '--credential-key' : null,
    input.loginProfile ? '--login-profile' : null,
  ].filter((k): k is string => k !== null);
  if (clashes.length > 0) {
    throw masterError('MASTER_USAGE', `--template defines what runs; drop ${clashes.join(', ')} (pass values with --input NAME=VALUE)`);
  }
  const body: JobRequest = { template: input.template as string };
  const inputs: Record<string, string> = {};
  for (const pair of input.inputs ?? []) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !ENV_NAME.test(name)) throw masterError('MASTER_USAGE', `--input needs NAME=VALUE, got "${name}"`);
    if (Object.hasOwn(inputs, name)) throw masterError('MASTER_USAGE', `--input ${name} is given twice`);
    inputs[name] = pair.slice(eq + 1);
  }
  if (Object.keys(inputs).length > 0) body.inputs = inputs;
  if (input.runAs !== undefined) body.runAs = input.runAs;
  if (input.processServer !== undefined) body.processServer = input.processServer;
  if (input.timeout !== undefined) body.timeoutSeconds = parseSeconds(input.timeout, '--timeout');
  if (input.description !== undefined) {
    renderDescription(input.description, { host: 'x', command: 'x' });
    body.description = input.description;
  }
  return body;
}

/** A one-line summary of what a job runs, for descriptions and the summary table. */
export function commandSummary(body: JobRequest): string {
  if (body.template !== undefined) {
    return [`template ${body.template}`, ...Object.entries(body.inputs ?? {}).map(([k, v]) => `${k}=${typeof v !== 'string' || /^[\w@%+=:,./-]+$/.test(v) ? String(v) : JSON.stringify(v)}`)].join(' ');
  }
  if (body.argv) return body.argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');
  if (body.command !== undefined) return body.command;
  const first = (body.script ?? '').split('\n').find((l) => l.trim() !== '' && !l.startsWith('#!')) ?? '';
  return `script: ${first.trim()}`;
}

/**
 * Foreman's "description format": `%{name}` placeholders filled per host. Only known names are allowed,
 * so a typo fails before any job starts instead of reaching the agent literally.
 */
export function renderDescription(format: string, values: Readonly<Record<'host' | 'command', string>>): string {
  return format.replace(/%\{([^}]*)\}/g, (_m, name: string) => {
    if (name === 'host' || name === 'command') return values[name];
    throw masterError('MASTER_USAGE', `unknown placeholder %{${name}} in --description; use %{host} or %{command}`);
  });
}

export function validateJobId(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) {
    throw masterError('MASTER_INVALID_JOB_ID', `"${id}" is not a job id (lowercase letters, digits and hyphens)`);
  }
  return id;
}
