/**
 * Pure translation of a job into what the supervisor execs: argv, payload (env, cwd, script) and mode.
 * Nothing here builds shell text from job data: a command line goes to `sh -c` as one argument, argv and
 * args stay separate arguments, and scripts travel through a pipe (/dev/fd/N), never through the shell.
 */
import { agentError } from '../../errors.js';
import type { JobSpec } from '../executor.js';
import { SHIM_MAIN } from './supervisor-source.js';

export interface InvocationOptions {
  readonly interpreterWhitelist: readonly string[];
  readonly localInterpreter: Readonly<Record<string, string>>;
  readonly runAsMethod: 'sudo' | 'su';
  /** The agent's own user: runAs naming it needs no switch. */
  readonly agentUser: string;
  /** strict: no job ever runs as the agent's own user (docs/agent.md, "Security model"). */
  readonly jobIsolation: 'strict' | 'warn';
  readonly perl: string;
  /** Environment every job starts from when no user switch happens. */
  readonly baseEnv: Readonly<Record<string, string>>;
}

export interface Invocation {
  readonly argv: readonly string[];
  readonly mode: 'inline' | 'stdin';
  readonly payload: string;
  /** The program sudo will run, for the pre-flight `sudo -n -l` check. */
  readonly switchProgram?: string;
  /** The argv prefix that runs a program as the job's user, the way the job itself was switched: the
   * supervisor kills the job's processes through it. Empty when the job runs as the agent's user. */
  readonly switchAs: readonly string[];
}

const DEFAULT_SHELL = '/bin/sh';
const LOGIN_WRAPPER = ['-l', '-c', 'exec "$0" "$@"'] as const;

/** `interpreter` may be a localInterpreter name or a path; the result must be whitelisted. */
export function resolveInterpreter(requested: string | undefined, o: InvocationOptions): string {
  if (requested === undefined) return o.localInterpreter.sh ?? DEFAULT_SHELL;
  const mapped = o.localInterpreter[requested] ?? requested;
  if (!o.interpreterWhitelist.includes(mapped)) {
    throw agentError(
      'AGENT_INTERPRETER_NOT_ALLOWED',
      `interpreter ${JSON.stringify(requested)} is not allowed on this agent; allowed: ${o.interpreterWhitelist.join(', ') || '(none)'}`,
    );
  }
  return mapped;
}

export function buildInvocation(job: JobSpec, o: InvocationOptions): Invocation {
  let program: string[];
  let scriptIndex = -1;
  if (job.kind === 'command') {
    program = [resolveInterpreter(job.interpreter, o), '-c', job.command ?? ''];
  } else if (job.kind === 'argv') {
    program = [...(job.argv ?? [])];
  } else {
    program = [resolveInterpreter(job.interpreter, o), ...(job.args ?? [])];
    scriptIndex = 1;
  }
  if (job.loginProfile) {
    program = [DEFAULT_SHELL, ...LOGIN_WRAPPER, ...program];
    if (scriptIndex >= 0) scriptIndex += 4;
  }
  const env: Record<string, string> = { ...(job.env ?? {}), OUTPOST_JOB_ID: job.id };
  const switching = job.runAs !== undefined && job.runAs !== o.agentUser;
  // The last line of defence: a job queued before the agent was made strict still names no user.
  if (!switching && o.jobIsolation === 'strict') {
    throw agentError(
      'AGENT_RUNAS_NOT_ALLOWED',
      `job ${job.id} would run as the agent's own user ${o.agentUser}, which jobIsolation: strict never allows; submit it again (runAs.defaultUser applies) or name a user from runAs.allowedUsers`,
    );
  }
  const kv = (e: Record<string, string>): string[] => Object.entries(e).flat();
  if (!switching) {
    const payload = ['1', job.cwd ?? '', String(scriptIndex), job.script ?? '', ...kv({ ...o.baseEnv, ...env })].join('\0');
    return { argv: program, mode: 'inline', payload, switchAs: [] };
  }
  const user = job.runAs as string;
  const shim = [o.perl, '-e', SHIM_MAIN, '--'];
  const payload = ['', job.cwd ?? '', String(scriptIndex), job.script ?? '', ...kv(env)].join('\0');
  if (o.runAsMethod === 'sudo') {
    // -n: never prompt (fail instead); -H: HOME of the target user; env travels on stdin, not argv.
    const switchAs = ['sudo', '-n', '-u', user, '--'];
    return { argv: ['sudo', '-n', '-H', '-u', user, '--', ...shim, ...program], mode: 'stdin', payload, switchProgram: o.perl, switchAs };
  }
  // su passes the words after the user name to the shell given by -s.
  const login = job.loginProfile ? ['-l'] : [];
  // `--` ends su's own options: without it su would parse the shim's `-e` as an option of its own.
  const switchAs = ['su', '-s', DEFAULT_SHELL, '--', user, '-c', 'exec "$0" "$@"'];
  return {
    argv: ['su', ...login, '-s', DEFAULT_SHELL, '--', user, '-c', 'exec "$0" "$@"', ...shim, ...program],
    mode: 'stdin',
    payload,
    switchAs,
  };
}
