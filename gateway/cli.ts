import type { Command } from 'commander';

/** Placeholder until the part lands: the command group exists so `outpost --help` lists it. */
export function registerGatewayCommands(program: Command): void {
  program.command('gateway').description('(not built yet)');
}
