/**
 * V8 settings for the gateway daemon. On Node 24 a gateway that has carried load keeps a young generation
 * of up to 3 × 32 MiB (semi-spaces grow to 32 MiB there, 16 MiB on Node 20) and gives little of it back:
 * 180 MiB RSS after `npm run bench:gateway` against 126 MiB on Node 20. Capping the semi-spaces at 8 MiB
 * brings Node 24 to 121–148 MiB with the same requests per second (docs/gateway.md, "Memory").
 *
 * The cap is read only when V8 sets up its heap, so it cannot be set from code the way the agent's
 * settings are (agent/heap-settings.ts): `outpost gateway start` replaces itself (execve: same pid, same
 * descriptors, so systemd and the tests see one process) with the same command line plus the flag. Where
 * Node has no execve (Node 20, whose default is half Node 24's) or the operator set a semi-space size of
 * their own (NODE_OPTIONS or a node option), it starts as it is.
 */
import { runsCommand } from '../core/command-words.js';

/** The flags the gateway daemon runs with. */
export const GATEWAY_V8_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** True for `outpost [options] gateway start …`. */
export function startsGateway(argv: readonly string[]): boolean {
  return runsCommand(argv, 'gateway', 'start');
}

/** The command line to replace this process with, or null when it runs as it should already. */
export function gatewayExecArgs(argv: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): string[] | null {
  if (!startsGateway(argv)) return null;
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((a) => a.startsWith('--max-semi-space-size'))) return null;
  return [...GATEWAY_V8_FLAGS, ...execArgv, ...argv.slice(1)];
}

type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

/** Replaces this process with the gateway's command line and flags, where it needs and can. */
export function reexecGateway(): void {
  const args = gatewayExecArgs(process.argv, process.execArgv, process.env.NODE_OPTIONS);
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (args === null || typeof execve !== 'function') return;
  execve(process.execPath, [process.execPath, ...args], process.env);
}
