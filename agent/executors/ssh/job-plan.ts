/**
 * Turns a validated JobSpec into the remote runner's arguments (pure). Every value stays a separate
 * argument; nothing here builds shell text.
 */
import type { JobSpec } from '../executor.js';
import { agentError } from '../../errors.js';

export interface JobPlan {
  readonly mode: 'command' | 'argv' | 'script';
  /** NAME=VALUE words exported by the runner. */
  readonly env: readonly string[];
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly loginProfile: boolean;
  /** Script body sent on the launch channel's stdin (kind=script). */
  readonly stdin?: string;
}

const JOB_ID = /^[a-z0-9][a-z0-9-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_SHELL = '/bin/sh';

function interpreterFor(job: JobSpec, whitelist: readonly string[], server: string): string {
  if (job.interpreter === undefined) return DEFAULT_SHELL;
  if (!whitelist.includes(job.interpreter)) {
    throw agentError(
      'AGENT_SSH_INTERPRETER_NOT_ALLOWED',
      `interpreter ${job.interpreter} is not in process server ${server}'s interpreterWhitelist (${whitelist.join(', ') || 'empty'})`,
    );
  }
  return job.interpreter;
}

export function checkJobId(id: string): string {
  if (!JOB_ID.test(id)) throw agentError('AGENT_SSH_JOB_INVALID', `job id "${id}" must be lowercase letters, digits and hyphens`);
  return id;
}

export function planJob(job: JobSpec, whitelist: readonly string[], server: string): JobPlan {
  checkJobId(job.id);
  const env = Object.entries(job.env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw agentError('AGENT_SSH_JOB_INVALID', `environment variable name "${name}" is not valid`);
    if (value.includes('\0')) throw agentError('AGENT_SSH_JOB_INVALID', `environment variable ${name} contains a NUL byte`);
    return `${name}=${value}`;
  });
  const base = { env, cwd: job.cwd ?? '', loginProfile: job.loginProfile === true };
  const noNul = (words: readonly string[]): readonly string[] => {
    if (words.some((w) => w.includes('\0'))) throw agentError('AGENT_SSH_JOB_INVALID', 'job arguments cannot contain NUL bytes');
    return words;
  };
  switch (job.kind) {
    case 'command': {
      if (!job.command) throw agentError('AGENT_SSH_JOB_INVALID', 'kind=command needs a command');
      return { ...base, mode: 'command', argv: noNul([interpreterFor(job, whitelist, server), '-c', job.command]) };
    }
    case 'argv': {
      const [program] = job.argv ?? [];
      if (!program) throw agentError('AGENT_SSH_JOB_INVALID', 'kind=argv needs a non-empty argv');
      return { ...base, mode: 'argv', argv: noNul([...(job.argv ?? [])]) };
    }
    case 'script': {
      if (job.script === undefined) throw agentError('AGENT_SSH_JOB_INVALID', 'kind=script needs a script');
      return { ...base, mode: 'script', argv: noNul([interpreterFor(job, whitelist, server), ...(job.args ?? [])]), stdin: job.script };
    }
    default:
      throw agentError('AGENT_SSH_JOB_INVALID', `unknown job kind ${String(job.kind)}`);
  }
}

export interface EndLine {
  /** Exit status, or the job is still running, or it ended without one (killed). */
  readonly state: number | 'running' | 'gone';
  /** Size of the remote output file; null from the launch channel, whose stream is complete by design. */
  readonly size: number | null;
}

/** What one look at a job tells: its end (or `running`), nothing yet (follow on), or its files are gone. */
export type FollowStep = EndLine | null | 'missing';

/** The wrapper's last `outpost-end <state> <size>` line on stderr, if any. */
export function parseEndLine(stderr: string): EndLine | null {
  const matches = [...stderr.matchAll(/^outpost-end (\d+|running|gone) (\d+|-)\s*$/gm)];
  const m = matches.at(-1);
  if (!m?.[1] || !m[2]) return null;
  const state = /^\d+$/.test(m[1]) ? Number(m[1]) : (m[1] as 'running' | 'gone');
  return { state, size: m[2] === '-' ? null : Number(m[2]) };
}
