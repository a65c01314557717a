#!/usr/bin/env node
/**
 * `outpost` — one CLI, a subcommand per part. Each part registers its own commands so the parts stay
 * independent and this file stays a table of contents.
 */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { registerCaCommands } from './ca/cli.js';
import { registerAgentCommands } from './agent/cli.js';
import { registerGatewayCommands } from './gateway/cli.js';
import { registerJobCommands } from './master/cli.js';

const require = createRequire(import.meta.url);
// dist/cli.js and cli.ts (under tsx) both sit one level below package.json's directory or at it.
function version(): string {
  for (const p of ['./package.json', '../package.json']) {
    try {
      return (require(p) as { version: string }).version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

export function buildProgram(): Command {
  const program = new Command('outpost')
    .description('Hardened remote job agent: certificate authority, agent, gateway and master client')
    .version(version(), '-V, --version')
    .option('--debug', 'print stack traces for errors')
    .showHelpAfterError('(run with --help for usage)');
  registerCaCommands(program);
  registerAgentCommands(program);
  registerGatewayCommands(program);
  registerJobCommands(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
