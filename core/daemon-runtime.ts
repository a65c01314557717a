/**
 * How a daemon (`agent start`, `gateway start`) — or another long-running command (`job run`, whose fan-out
 * to thousands of hosts is the master's one heavy run) — sets up its V8 runtime before anything else loads.
 *
 * Heap flags: some (the gateway's semi-space cap) are read only when V8 sets up its heap, so they must be on
 * the command line. Where Node has `process.execve` (Node 24) the daemon replaces itself — same pid, same
 * descriptors, so systemd and the tests see one process — with its command line plus the flags.
 *
 * Compilers paused during start-up: V8's compilers (Sparkplug, Maglev, TurboFan) compile the start-up code
 * (module loading, config validation) that runs once and never again, and bring their own machine code
 * into memory to do it: 7–8 MiB of an idle daemon's RSS on Node 24 (agent: 68 → 58 MiB), 5 on Node 20, for
 * no gain. So a daemon starts with them off (on the command line where it is replaced anyway, from code
 * otherwise) and turns them back on once it listens (`startupDone`); from then on hot code is compiled
 * as usual. Measured in docs/agent.md and docs/gateway.md ("Memory").
 *
 * An operator's own choice wins: a heap flag or any compiler flag given on the node command line or in
 * NODE_OPTIONS is left as it is, and compilers the operator turned off are never turned on.
 */
import { setFlagsFromString } from 'node:v8';
import { runsCommand } from './command-words.js';
import { v8Collect } from './quiet-gc.js';

export interface DaemonRuntime {
  /** The command words, e.g. ['gateway', 'start']. */
  readonly command: readonly string[];
  /** V8 flags that must be on the command line (`--name=value`). */
  readonly heapFlags: readonly string[];
  /** V8 flags that take effect when set from code: set at start on every runtime, before anything loads. */
  readonly codeFlags?: readonly string[];
  /** Start with the compilers paused until startupDone() (default true): for a daemon, whose start-up code
   * runs once before it idles — not for a command that is busy from its first line to its last. */
  readonly pauseCompilers?: boolean;
}

/** The gateway's and `job run`'s cap on V8's semi-spaces (gateway/heap-settings.ts, master/runtime-settings.ts). */
export const SEMI_SPACE_CAP = '--max-semi-space-size=8';

/** In the replaced process's environment only: which compilers its command line paused. Read and removed
 * at once, so no job or child process inherits it. */
const PAUSED_ENV = 'OUTPOST_PAUSED_COMPILERS';

/** Flags by which an operator chooses compilers themselves. */
const COMPILER_CHOICE = /^--(?:no-)?(?:sparkplug|maglev|opt|turbofan|jitless|lite-mode|max-lazy)(?:=|$)/;

/** The compiler tiers on by default in this V8: Maglev from V8 12 (Node 22) on; Node 20's V8 11 ships it off. */
export function compilerTiers(v8Version: string): readonly string[] {
  return Number(v8Version.split('.')[0]) >= 12 ? ['sparkplug', 'maglev', 'opt'] : ['sparkplug', 'opt'];
}

const words = (nodeOptions: string | undefined): string[] => (nodeOptions ?? '').split(/\s+/).filter(Boolean);

/** The operator chose compilers on the node command line or in NODE_OPTIONS. */
export function operatorChoseCompilers(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...words(nodeOptions)].some((a) => COMPILER_CHOICE.test(a));
}

export interface ExecPlan {
  /** The arguments after node's own path. */
  args: string[];
  /** The compilers the new command line pauses. */
  paused: readonly string[];
}

/** The command line to replace this process with, or null when it runs as it should already. */
export function daemonExecPlan(
  argv: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  daemons: readonly DaemonRuntime[],
  v8Version: string,
): ExecPlan | null {
  const daemon = daemons.find((d) => runsCommand(argv, ...d.command));
  if (!daemon) return null;
  const given = [...execArgv, ...words(nodeOptions)];
  const heap = daemon.heapFlags.filter((f) => !given.some((g) => g.split('=')[0] === f.split('=')[0]));
  // Nothing of ours on the command line yet but compiler flags would loop: after the replacement they
  // count as given (and the environment says they are ours).
  const paused = daemon.pauseCompilers === false || operatorChoseCompilers(execArgv, nodeOptions) ? [] : compilerTiers(v8Version);
  if (heap.length === 0 && paused.length === 0) return null;
  return { args: [...heap, ...paused.map((t) => `--no-${t}`), ...execArgv, ...argv.slice(1)], paused };
}

let paused: readonly string[] = [];

type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

/** Sets up the runtime of the daemon this command line starts (nothing for other commands). */
export function startDaemonRuntime(daemons: readonly DaemonRuntime[]): void {
  const mark = process.env[PAUSED_ENV];
  delete process.env[PAUSED_ENV];
  const daemon = daemons.find((d) => runsCommand(process.argv, ...d.command));
  for (const flag of daemon?.codeFlags ?? []) setFlagsFromString(flag);
  if (mark !== undefined) {
    // The replaced process: its command line carries the flags.
    paused = mark.split(',').filter(Boolean);
    return;
  }
  const plan = daemonExecPlan(process.argv, process.execArgv, process.env.NODE_OPTIONS, daemons, process.versions.v8);
  if (plan === null) return;
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (typeof execve === 'function') {
    try {
      execve(process.execPath, [process.execPath, ...plan.args], { ...process.env, [PAUSED_ENV]: plan.paused.join(',') });
    } catch {
      // Not replaced (a sandbox refusing execve, say): start as Node 20 does, without the heap flags.
    }
  }
  // No execve (Node 20): the heap flags cannot be had; the compilers are paused from code, which also works.
  for (const tier of plan.paused) setFlagsFromString(`--no-${tier}`);
  paused = plan.paused;
}

let started = false;

/**
 * Called once the daemon listens: turns the compilers paused for start-up back on, and collects start-up's
 * garbage (parsed configuration, certificates, module sources) with one full, compacting collection, so
 * an idle daemon does not keep it resident until its first burst of work (3.5 MiB of an idle gateway).
 */
export function startupDone(): void {
  for (const tier of paused) setFlagsFromString(`--${tier}`);
  paused = [];
  if (started) return;
  started = true;
  v8Collect()?.();
}
