import type { Command } from 'commander';

/** Placeholder until the part lands: the command group exists so `outpost --help` lists it. */
export function registerJobCommands(program: Command): void {
  program.command('job').description('(not built yet)');
}
