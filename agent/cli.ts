import type { Command } from 'commander';

/** Placeholder until the part lands: the command group exists so `outpost --help` lists it. */
export function registerAgentCommands(program: Command): void {
  program.command('agent').description('(not built yet)');
}
