import type { Command } from 'commander';

/** Placeholder until the part lands: the command group exists so `outpost --help` lists it. */
export function registerCaCommands(program: Command): void {
  program.command('ca').description('(not built yet)');
}
