/**
 * The local executor: jobs on this host, each under its own detached supervisor (supervisor-source.ts),
 * so a job outlives the agent. A job is found again by the supervisor's pid *and* start time.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Execution, Executor, ExitInfo, JobPaths, JobSpec, RuntimeInfo } from '../executor.js';
import { agentError } from '../../errors.js';
import { isSameProcess, signalName } from '../../proc.js';
import { buildInvocation, type InvocationOptions } from './invocation.js';
import { LAUNCHER_GONE, Launcher } from './launcher.js';
import { STATUS_FORMAT } from './supervisor-source.js';

export interface LocalExecutorOptions extends InvocationOptions {
  readonly graceSeconds: number;
  /** How often a re-adopted job (not our launcher's child) is checked for its end. */
  readonly pollMs?: number;
  readonly onLauncherCrash: (err: Error) => void;
  /** Connect to the launcher service on this socket instead of running a launcher as the agent's child. */
  readonly launcherSocket?: string;
}

interface StatusFile {
  reason: 'exited' | 'timeout' | 'cancel' | 'abort';
  exitCode: number | null;
  signal: number | null;
  error: string;
  /** [pid, user] of what was left after killing (absent in status files from older supervisors). */
  survivors?: [number, string][];
  /** The output was cut at maxOutputBytes or by a failed write (absent from older supervisors). */
  outputTruncated?: boolean;
}

interface StatusFileEnd extends StatusFile {
  endedAt: number;
}

/**
 * The supervisor's status file as the executor contract's ExitInfo; null when it is not there yet.
 * Read synchronously: it is a few dozen bytes, and four thread-pool round trips per job cost more CPU
 * than the read (measured with the agent bench). `endedAt` is the supervisor's (whole seconds) unless the
 * caller saw the end itself and passes a precise time.
 */
export function readExitStatus(dir: string, endedAtMs?: number): ExitInfo | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'status'), 'utf8');
  } catch {
    return null;
  }
  let s: StatusFileEnd & { v?: unknown };
  try {
    s = JSON.parse(text) as StatusFileEnd & { v?: unknown };
  } catch {
    // Written tmp + rename, so a torn file should not happen; if it does (a disk that lied), the job's
    // end is unknown rather than a reason to fail the agent.
    return { exitCode: null, signal: null, reason: 'lost', endedAt: new Date(endedAtMs ?? Date.now()).toISOString(), message: 'the job supervisor left an unreadable exit status' };
  }
  const format = 'v' in s ? s.v : 1;
  if (!(typeof format === 'number' && Number.isInteger(format) && format >= 1 && format <= STATUS_FORMAT)) {
    // Written by a supervisor of a newer release (a launcher service not yet downgraded with the agent):
    // its fields may mean something else, so nothing is read from it. The file is left for the operator.
    return {
      exitCode: null,
      signal: null,
      reason: 'lost',
      endedAt: new Date(endedAtMs ?? Date.now()).toISOString(),
      message: `the job's status file ${join(dir, 'status')} has format version ${JSON.stringify(format)}, which this agent does not read (it reads ${STATUS_FORMAT} and older): it was written by a newer supervisor; the file is kept, read the exit from it`,
    };
  }
  const survivors = (s.survivors ?? []).map(([pid, user]) => ({ pid, user }));
  const message = [s.error, survivors.length ? survivorsMessage(survivors) : ''].filter(Boolean).join('; ');
  return {
    exitCode: s.exitCode,
    signal: s.signal === null ? null : signalName(s.signal),
    reason: s.reason,
    endedAt: new Date(endedAtMs ?? s.endedAt * 1000).toISOString(),
    ...(message ? { message } : {}),
    ...(survivors.length ? { survivors } : {}),
    ...(s.outputTruncated ? { outputTruncated: true } : {}),
  };
}

/** What the job record says when killing left processes behind: each by pid and user, and what to do. */
export function survivorsMessage(survivors: readonly { pid: number; user: string }[]): string {
  const list = survivors.map((s) => `pid ${s.pid} (user ${s.user})`).join(', ');
  return (
    `${survivors.length} process(es) of the job are still running after it was ended: ${list}; ` +
    'the agent may not signal them (another user, e.g. a setuid program the job started): end them as root and check the job'
  );
}

async function readSupervisorFile(dir: string): Promise<{ pid: number; startTime: string } | null> {
  try {
    const [pid, startTime] = (await readFile(join(dir, 'supervisor'), 'utf8')).trim().split(' ');
    return { pid: Number(pid), startTime: startTime ?? '' };
  } catch {
    return null;
  }
}

export interface LocalExecutor extends Executor {
  readonly launcherPid: number | undefined;
  /** What must be refused before a job is accepted: interpreter outside the whitelist, sudo refusing. */
  precheck(job: JobSpec): Promise<void>;
}

export function createLocalExecutor(options: LocalExecutorOptions): LocalExecutor {
  const launcher = new Launcher(options.perl, options.onLauncherCrash, options.launcherSocket);
  launcher.start();
  const pollMs = options.pollMs ?? 250;
  const sudoOk = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  async function checkSudo(user: string, program: string): Promise<void> {
    const key = `${user}\0${program}`;
    if ((sudoOk.get(key) ?? 0) > Date.now()) return;
    const refusal = await new Promise<string | null>((resolve) => {
      execFile('sudo', ['-n', '-l', '-u', user, '--', program], { timeout: 10_000 }, (err, _out, stderr) =>
        resolve(err ? (stderr.trim() || err.message) : null),
      );
    });
    if (refusal !== null) {
      throw agentError('AGENT_RUNAS_REFUSED', `sudo refused to run jobs as ${user}: ${refusal.split('\n')[0]}`);
    }
    sudoOk.set(key, Date.now() + 60_000);
  }

  function control(pid: number, startTime: string, dir: string): Pick<Execution, 'cancel' | 'abort'> {
    const send = (sig: NodeJS.Signals): void => {
      // Never signal a pid that now belongs to someone else.
      if (!isSameProcess(pid, startTime)) return;
      try {
        process.kill(pid, sig);
      } catch {
        /* ended meanwhile */
      }
    };
    return {
      async cancel(graceMs: number) {
        await writeFile(join(dir, 'cancel-grace'), String(Math.max(1, Math.ceil(graceMs / 1000))), { mode: 0o600 });
        send('SIGTERM');
      },
      async abort() {
        send('SIGUSR1');
      },
    };
  }

  /** For a supervisor that is not our launcher's child: poll until it is gone, then read its status. */
  function watch(pid: number, startTime: string, dir: string): Promise<ExitInfo> {
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        if (isSameProcess(pid, startTime)) return;
        clearInterval(timer);
        timers.delete(timer);
        resolve(
          readExitStatus(dir) ?? {
            exitCode: null,
            signal: null,
            reason: 'lost',
            endedAt: new Date().toISOString(),
            message: 'the job supervisor ended without writing an exit status (killed?)',
          },
        );
      }, pollMs);
      // Watching never keeps the agent alive: on stop, running jobs are left to their supervisors.
      timer.unref();
      timers.add(timer);
      if (closed) clearInterval(timer);
    });
  }

  async function start(job: JobSpec, paths: JobPaths): Promise<Execution> {
    const inv = buildInvocation(job, options);
    if (inv.switchProgram && job.runAs) await checkSudo(job.runAs, inv.switchProgram);
    // Sync: one cheap syscall; the promise version costs more CPU in thread-pool hand-offs than the mkdir.
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    let launched;
    try {
      launched = await launcher.launch({
        dir: paths.dir,
        output: paths.output,
        timeoutSeconds: job.timeoutSeconds ?? 0,
        graceSeconds: options.graceSeconds,
        maxOutputBytes: job.maxOutputBytes ?? 0,
        mode: inv.mode,
        payload: inv.payload,
        argv: inv.argv,
        switchAs: inv.switchAs,
      });
    } catch (err) {
      throw agentError('AGENT_LAUNCHER_UNAVAILABLE', `cannot launch job ${job.id}: ${(err as Error).message}`, { cause: err });
    }
    const { pid, startTime } = launched;
    const done = launcher.waitExit(pid).then(async (wait) => {
      if (wait === LAUNCHER_GONE) return watch(pid, startTime, paths.dir);
      const status = readExitStatus(paths.dir, Date.now());
      return (
        status ?? {
          exitCode: null,
          signal: null,
          reason: 'lost' as const,
          endedAt: new Date().toISOString(),
          message: 'the job supervisor ended without writing an exit status',
        }
      );
    });
    return { runtime: { supervisorPid: pid, supervisorStart: startTime }, done, ...control(pid, startTime, paths.dir) };
  }

  async function reattach(_job: JobSpec, runtime: RuntimeInfo, paths: JobPaths): Promise<Execution | { lost: string }> {
    let pid = Number(runtime.supervisorPid);
    let startTime = String(runtime.supervisorStart ?? '');
    if (!pid) {
      // The agent died between launching and recording: the supervisor left its own note.
      const note = await readSupervisorFile(paths.dir);
      if (note) ({ pid, startTime } = note);
    }
    const finished = readExitStatus(paths.dir);
    if (finished) {
      return { runtime: { supervisorPid: pid, supervisorStart: startTime }, done: Promise.resolve(finished), ...control(pid, startTime, paths.dir) };
    }
    if (pid && isSameProcess(pid, startTime)) {
      return { runtime: { supervisorPid: pid, supervisorStart: startTime }, done: watch(pid, startTime, paths.dir), ...control(pid, startTime, paths.dir) };
    }
    if (!pid) return { lost: 'the agent stopped while launching this job; no supervisor ever reported it' };
    // Status is written before the supervisor exits, so re-read once in case it ended just now.
    const late = readExitStatus(paths.dir);
    if (late) return { runtime, done: Promise.resolve(late), ...control(pid, startTime, paths.dir) };
    return { lost: `supervisor pid ${pid} is gone (or the pid now belongs to another process) and left no exit status` };
  }

  return {
    name: 'local',
    start,
    async precheck(job: JobSpec) {
      const inv = buildInvocation(job, options);
      if (inv.switchProgram && job.runAs) await checkSudo(job.runAs, inv.switchProgram);
    },
    reattach,
    get launcherPid() {
      return launcher.pid;
    },
    async close() {
      closed = true;
      for (const t of timers) clearInterval(t);
      timers.clear();
      await launcher.close();
    },
  };
}
