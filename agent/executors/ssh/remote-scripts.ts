/**
 * The remote side of an SSH job: small POSIX sh programs (remote/*.sh) sent with each exec request. Job parameters never
 * become shell text: every value is a separate single-quoted word (`shq`) and reaches the scripts as a
 * positional parameter ("$1"), so no parameter is ever parsed by a shell. Script bodies go over stdin.
 *
 * Files per job, under the effective user's `~/.outpost/jobs/` (0700 via umask):
 *   <id>.out    combined stdout+stderr (the agent copies it from an offset)
 *   <id>.pid    "<pid> <process group> <session>" of the job: its runner shell's (this wrapper) or, from the
 *               launcher (launcher-source.ts), the job's own — plus " <exit status>" once a launcher job ended
 *   <id>.exit   the job's exit status, written once the job and its output are complete (this wrapper)
 *   <id>.rc     the job's exit status before its output is complete (copied to <id>.exit then)
 *   <id>.script the script body for kind=script
 *   <id>.params the job's argv and environment as shell text, until the job's shell has read it (LAUNCH)
 *
 * Foreman's "asynchronous SSH" (control + retrieve scripts) is the model. Unlike it, the launch exec also
 * streams the output (through `tee -p`, which keeps writing the file when the channel is gone), so a short
 * job costs exactly one exec round trip and no polling. After a dropped connection or an agent restart,
 * ATTACH follows the file from the last byte the agent has.
 */

import type { JobPlan } from './job-plan.js';
import { programFile, shellProgram } from '../program-file.js';

/** POSIX single-quoting: the only character that needs care inside '…' is ' itself. */
export function shq(value: string): string {
  if (value.includes('\0')) throw new Error('NUL byte cannot be passed to a remote command');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** One command line from fixed program words and untrusted values, each quoted. */
export function commandLine(words: readonly string[]): string {
  return words.map(shq).join(' ');
}

const remote = (name: string): string => shellProgram(programFile(`remote/${name}.sh`, import.meta.url));

/** Starts a job and streams its output (remote/launch.sh says how). */
export const LAUNCH = remote('launch');
/** Follows a job's output from an offset and reports its end (remote/attach.sh). */
export const ATTACH = remote('attach');
/** Whether a job whose launch was cut off started (remote/probe.sh). */
export const PROBE = remote('probe');
/** Signals every process of a job (remote/kill.sh). */
export const KILL = remote('kill');
/** Removes finished jobs' files (remote/cleanup.sh). */
export const CLEANUP = remote('cleanup');

/**
 * LAUNCH's parameters: the job's argv (`set --`, with the script file after the interpreter and a login
 * shell in front for loginProfile) and its environment (`export`), every value a single-quoted word, then
 * the script body. Evaluated by LAUNCH in the job's subshell, where `$b/$id.script` is the script file.
 */
export function launchInput(plan: JobPlan): { args: string[]; stdin: string } {
  const [first = '', ...rest] = plan.argv;
  const program = plan.mode === 'script' ? `${shq(first)} "$b/$id.script" ${commandLine(rest)}` : commandLine(plan.argv);
  const profile = plan.loginProfile ? `${commandLine(['/bin/sh', '-lc', 'exec "$@"', 'sh'])} ` : '';
  const exports = plan.env.map((pair) => {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    // Names were checked by planJob; checked again because this one becomes shell text unquoted.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad environment variable name ${JSON.stringify(name)}`);
    return `export ${name}=${shq(pair.slice(eq + 1))}\n`;
  });
  const params = `set -- ${profile}${program}\n${exports.join('')}`;
  const script = plan.stdin ?? '';
  return {
    args: [plan.mode, plan.cwd, String(Buffer.byteLength(params)), String(Buffer.byteLength(script))],
    stdin: params + script,
  };
}

export interface RemoteUser {
  /** Login user of the SSH connection. */
  readonly login: string;
  /** Effective user of the job; sudo is used when it differs from `login`. */
  readonly effective: string;
  /** The login user's shell as sshd reports it, when known (see SshPool.loginShell). */
  readonly loginShell?: string;
}

/** Login shells that are the POSIX sh we would exec anyway: the program can run in them directly. */
const PLAIN_SH = new Set(['/bin/sh', '/usr/bin/sh', '/bin/dash', '/usr/bin/dash']);

/**
 * Wraps a program in `/bin/sh -c`, under `sudo -n -H -u USER` when the job runs as another user, so the
 * wrapper, its files and the kill all act as the job's user. The login shell only ever sees quoted words.
 * When the login shell already is a plain sh and no user switch is needed, the program runs in it with
 * its parameters set by `set --` (quoted words too): one exec less per job on the target.
 */
export function remoteCommand(user: RemoteUser, program: string, name: string, args: readonly string[]): string {
  if (user.effective === user.login && user.loginShell !== undefined && PLAIN_SH.has(user.loginShell)) {
    return `set -- ${commandLine(args)}\n${program}`;
  }
  const sh = ['/bin/sh', '-c', program, name, ...args];
  const words = user.effective === user.login ? sh : ['sudo', '-n', '-H', '-u', user.effective, '--', ...sh];
  return `exec ${commandLine(words)}`;
}
