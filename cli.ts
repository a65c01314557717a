#!/usr/bin/env node
/**
 * `outpost` — one CLI, a subcommand per part. Each part registers its own commands so the parts stay
 * independent and this file stays a table of contents.
 */
import { Command } from 'commander';
import { outpostVersion } from './core/version.js';
import { startDaemonRuntime } from './core/daemon-runtime.js';
import { AGENT_RUNTIME } from './agent/heap-settings.js';
import { GATEWAY_RUNTIME } from './gateway/heap-settings.js';
import { MASTER_RUNTIME } from './master/runtime-settings.js';

// Before anything else: a daemon (and `job run`) starts again with its V8 flags where it has to, a daemon
// with its compilers paused.
startDaemonRuntime([AGENT_RUNTIME, GATEWAY_RUNTIME, MASTER_RUNTIME]);

type Register = (program: Command) => void;

/**
 * Each part's commands, loaded on demand: `outpost job run` need not pay for loading the agent, the
 * gateway and the CA (about half a second of CPU on every invocation, which a fan-out or a demo feels).
 */
const PARTS: Readonly<Record<string, () => Promise<Register>>> = {
  ca: async () => {
    const [store, lifecycle] = await Promise.all([import('./ca/cli.js'), import('./master/lifecycle/cli.js')]);
    return (program) => {
      store.registerCaCommands(program);
      const ca = program.commands.find((c) => c.name() === 'ca');
      if (ca) lifecycle.registerCaLifecycleCommands(ca);
    };
  },
  agent: async () => {
    // `agent status` is the master's command: it brings the master's HTTP client (undici, ~17 MiB
    // resident) that the daemon never uses, so `agent start` (and the launcher) do not load it.
    const agentCli = await import('./agent/cli.js');
    const { startsDaemon } = await import('./agent/heap-settings.js');
    const status = startsDaemon(process.argv) ? undefined : (await import('./master/cli.js')).registerAgentStatusCommand;
    return (program) => {
      agentCli.registerAgentCommands(program);
      const agent = program.commands.find((c) => c.name() === 'agent');
      if (agent && status) status(agent);
    };
  },
  gateway: async () => (await import('./gateway/cli.js')).registerGatewayCommands,
  job: async () => (await import('./master/cli.js')).registerJobCommands,
};

/** The parts the command line names, or all of them (root --help, unknown words). */
function partsFor(argv: readonly string[]): string[] {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return first !== undefined && first in PARTS ? [first] : Object.keys(PARTS);
}

export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('outpost')
    .description('Hardened remote job agent: certificate authority, agent, gateway and master client')
    .version(outpostVersion(), '-V, --version')
    .option('--debug', 'print stack traces for errors')
    .showHelpAfterError('(run with --help for usage)');
  const registers = await Promise.all(partsFor(argv).map((name) => PARTS[name]!()));
  for (const register of registers) register(program);
  return program;
}

await (await buildProgram()).parseAsync(process.argv);
