/**
 * `outpost agent …`: start, launcher, credentials add|list|remove. `agent status` is the master's command
 * (master/cli.ts), added beside these by the top-level CLI.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { action, printJson } from '../core/cli-support.js';
import { startupDone } from '../core/daemon-runtime.js';
import { coreError } from '../core/errors.js';
import { lazyLogger } from '../core/lazy-logger.js';
import { readSecret } from '../core/secret-input.js';
import { loadAgentConfigIsolated } from './config-isolated.js';
import type { AgentConfig } from './config.js';
import type { CredentialStore } from './credentials.js';
import { agentError } from './errors.js';
import { outpostVersion } from '../core/version.js';

interface ConfigFlag {
  config: string;
  json?: boolean;
}

interface StartFlags extends ConfigFlag {
  launcherSocket?: string;
}

function registerStart(agent: Command): void {
  agent
    .command('start')
    .description('run the agent: loopback-only job API; jobs survive agent restarts')
    .requiredOption('-c, --config <file>', 'agent.yaml')
    .option('--launcher-socket <path>', 'connect to the launcher service there (overrides launcherSocket; outpost-agent.service sets it)')
    .action(
      action(async (flags: StartFlags) => {
        // The config is read in a worker and winston loaded with the first logged line, so neither zod,
        // yaml nor winston need be part of a quiet agent's memory (docs/agent.md, "Memory").
        // The daemon's modules load only now, after its heap flags are set (core/daemon-runtime.ts).
        const { startAgent } = await import('./main.js');
        const config = withLauncherSocket(await loadAgentConfigIsolated(flags.config), flags.launcherSocket);
        const logger = lazyLogger({ level: config.logLevel, defaultMeta: { part: 'agent' } });
        const handle = await startAgent(config, { logger, version: outpostVersion() });
        // Lines logged while starting (jobs recovered, …) come before this one, as with an eager logger.
        await logger.settled();
        process.stdout.write(`outpost agent listening on ${handle.address}\n`);
        startupDone();
        await new Promise<void>((resolve) => {
          const stop = (signal: string): void => {
            logger.info('stopping', { signal });
            handle
              .close()
              .then(() => logger.settled())
              .then(resolve, (err: Error) => {
                logger.error('stop failed', { error: err.message });
                void logger.settled().then(resolve);
              });
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
          // A config that fails validation on reload is reported and the running one kept.
          process.on('SIGHUP', () =>
            void loadAgentConfigIsolated(flags.config)
              .then((next) => handle.reload(next))
              .catch((err: Error) => logger.error('reload failed; keeping the running configuration', { error: err.message })),
          );
        });
      }),
    );
}

/** The units give the socket on the command line, so an installed agent.yaml needs no launcher key. */
function withLauncherSocket(config: Readonly<AgentConfig>, flag: string | undefined): Readonly<AgentConfig> {
  if (flag === undefined) return config;
  if (!isAbsolute(flag)) throw coreError('CORE_CONFIG_INVALID', `--launcher-socket must be an absolute path, not ${flag}`);
  return Object.freeze({ ...config, launcherSocket: flag });
}

function registerLauncher(agent: Command): void {
  agent
    .command('launcher')
    .description('run the job launcher as its own service (outpost-launcher.service), so jobs run outside the agent\'s sandbox')
    .requiredOption('-c, --config <file>', 'agent.yaml (perl, launcherSocket)')
    .option('--launcher-socket <path>', 'listen there (overrides launcherSocket; outpost-launcher.service sets it)')
    .action(
      action(async (flags: StartFlags) => {
        const { runLauncherService } = await import('./launcher-service.js');
        const config = withLauncherSocket(await loadAgentConfigIsolated(flags.config), flags.launcherSocket);
        process.exitCode = await runLauncherService(config, flags.config);
      }),
    );
}

interface AddFlags extends ConfigFlag {
  user: string;
  passwordFile?: string;
  privateKey?: string;
  passphraseFile?: string;
  replace?: boolean;
}

function registerCredentials(agent: Command): void {
  const creds = agent
    .command('credentials')
    .description('named credentials for jobs (credentialKey); secrets come from files, never the command line');
  const store = async (configPath: string): Promise<CredentialStore> => {
    // Loaded here, not at the top: `agent start` must not carry the config schema (zod, yaml).
    const [{ loadAgentConfig, credentialsPath }, { CredentialStore }] = await Promise.all([import('./config.js'), import('./credentials.js')]);
    return new CredentialStore(credentialsPath(await loadAgentConfig(configPath)));
  };

  creds
    .command('add <key>')
    .description('add a credential: user + password (--password-file) or private key (--private-key)')
    .requiredOption('-c, --config <file>', 'agent.yaml')
    .requiredOption('-u, --user <name>', 'login user (domain users as user@DOMAIN)')
    .option('--password-file <file>', 'file whose first line is the password')
    .option('--private-key <file>', 'private key file (PEM or OpenSSH)')
    .option('--passphrase-file <file>', 'file whose first line is the private key\'s passphrase')
    .option('--replace', 'overwrite an existing credential with this key')
    .option('--json', 'machine-readable output')
    .action(
      action(async (key: string, flags: AddFlags) => {
        if (Boolean(flags.passwordFile) === Boolean(flags.privateKey)) {
          throw agentError('AGENT_CREDENTIAL_SECRET_MISSING', 'give exactly one of --password-file or --private-key');
        }
        if (flags.passphraseFile && !flags.privateKey) throw coreError('CORE_USAGE', '--passphrase-file goes with --private-key');
        const secret = flags.passwordFile
          ? { password: await readSecret({ file: flags.passwordFile, prompt: 'Password: ' }) }
          : {
              privateKey: await readFile(flags.privateKey as string, 'utf8'),
              ...(flags.passphraseFile ? { passphrase: await readSecret({ file: flags.passphraseFile, prompt: 'Passphrase: ' }) } : {}),
            };
        await (await store(flags.config)).add(key, { user: flags.user, ...secret }, flags.replace === true);
        if (flags.json) printJson({ key, user: flags.user, added: true });
        else process.stdout.write(`credential ${key} (user ${flags.user}) saved\n`);
      }),
    );

  creds
    .command('list')
    .description('list credential keys and users (never secrets)')
    .requiredOption('-c, --config <file>', 'agent.yaml')
    .option('--json', 'machine-readable output')
    .action(
      action(async (flags: ConfigFlag) => {
        const list = await (await store(flags.config)).list();
        if (flags.json) return printJson(list);
        if (list.length === 0) process.stdout.write('no credentials\n');
        for (const c of list) process.stdout.write(`${c.key.padEnd(24)} ${c.user.padEnd(24)} ${c.kind.padEnd(10)} ${c.createdAt}\n`);
      }),
    );

  creds
    .command('remove <key>')
    .description('remove a credential')
    .requiredOption('-c, --config <file>', 'agent.yaml')
    .option('--json', 'machine-readable output')
    .action(
      action(async (key: string, flags: ConfigFlag) => {
        await (await store(flags.config)).remove(key);
        if (flags.json) printJson({ key, removed: true });
        else process.stdout.write(`credential ${key} removed\n`);
      }),
    );
}

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('the job agent: start it, manage its credentials, ask its status');
  registerStart(agent);
  registerLauncher(agent);
  registerCredentials(agent);
}
