/**
 * V8 heap settings for the agent daemon, which lives for weeks and should stay small (docs/agent.md,
 * "Memory"):
 *
 *  - `--semi-space-growth-factor=1` keeps the young generation at its initial size (1 MiB semi-spaces).
 *    By default it doubles under an allocation burst — loading the modules at start, a burst of job
 *    submissions — up to 16 MiB (Node 20) or 32 MiB (Node 24) per semi-space, and a quiet process never
 *    gives that back: 6 MiB of an idle agent, and most of its growth after a few thousand jobs.
 *  - `--optimize-for-size` makes the old generation grow conservatively, so garbage promoted by the small
 *    young generation is collected before the heap has grown far (after 10,000 jobs: ~68 MiB instead of
 *    ~83). Measured cost: ~5% more agent CPU per job (~1.2 instead of ~1.1 ms).
 *
 * Set from code, not from the command line, so every way of starting the agent (systemd, by hand, tests,
 * the benchmark) runs with them: core/daemon-runtime.ts sets them when `outpost agent start` begins, before
 * any of the agent's modules load (cli.ts calls it first; agent/cli.ts loads the daemon's modules only in
 * the start action). V8 reads both flags when it decides to grow a space, so setting them at run time
 * takes effect (measured on Node 20 and 24).
 */
import { runsCommand } from '../core/command-words.js';
import type { DaemonRuntime } from '../core/daemon-runtime.js';

/** Its compilers paused at start-up (core/daemon-runtime.ts); no flag it needs on the command line. */
export const AGENT_RUNTIME: DaemonRuntime = {
  command: ['agent', 'start'],
  heapFlags: [],
  codeFlags: ['--semi-space-growth-factor=1', '--optimize-for-size'],
};

/** True for `outpost [options] agent start …`: the command line that becomes the long-running daemon. */
export function startsDaemon(argv: readonly string[]): boolean {
  return runsCommand(argv, ...AGENT_RUNTIME.command);
}
