/**
 * `outpost agent launcher`: the job launcher as a service of its own (outpost-launcher.service), listening
 * on `launcherSocket` for the agent. Jobs are forked by this process tree, so they get what their run-as
 * user may do, not the agent's confinement (docs/agent.md, "The job sandbox"). Node only starts Perl and
 * passes signals on: the launcher that forks supervisors stays the small Perl process.
 */
import { spawn } from 'node:child_process';
import { coreError } from '../core/errors.js';
import type { AgentConfig } from './config.js';
import { launcherCommand } from './executors/local/launcher.js';

/** Runs until the launcher ends (SIGTERM/SIGINT are passed on); resolves with its exit code. */
export function runLauncherService(config: Pick<AgentConfig, 'perl' | 'launcherSocket'>, source: string): Promise<number> {
  if (config.launcherSocket === undefined) {
    throw coreError('CORE_CONFIG_INVALID', `${source} is invalid:\n  launcherSocket: required to run the launcher service (the agent connects to it there)`);
  }
  const { file, args } = launcherCommand(config.perl, config.launcherSocket);
  // Supervisors leave the launcher's session: stopping this service (KillMode=process) leaves jobs running.
  const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  const pass = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGTERM', pass);
  process.on('SIGINT', pass);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', pass);
      process.off('SIGINT', pass);
      resolve(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? 0 : 1));
    });
  });
}
