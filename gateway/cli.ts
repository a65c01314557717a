import type { Command } from 'commander';
import { action } from '../core/cli-support.js';

/** `outpost gateway start|nginx-config|check`. */
export function registerGatewayCommands(program: Command): void {
  const gw = program.command('gateway').description('TLS/mTLS front for the agent: access policy, audit log, nginx rendering');
  gw.command('start')
    .description('start the gateway (HTTPS with client certificates) in front of the agent; SIGHUP reloads')
    .requiredOption('--config <file>', 'gateway.yaml')
    .action(
      action(async (opts: { config: string }) => {
        const { startGateway } = await import('./main.js');
        await startGateway(opts.config);
      }),
    );
  gw.command('check')
    .description('validate gateway.yaml, the TLS files and the access policy without starting')
    .requiredOption('--config <file>', 'gateway.yaml')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { config: string; json?: boolean }) => {
        const { loadGatewayConfig } = await import('./config.js');
        const { compilePolicy } = await import('./policy.js');
        const { loadTlsMaterial } = await import('./tls.js');
        const config = await loadGatewayConfig(opts.config);
        const policy = compilePolicy(config.access, { requireClientCert: config.tls.requireClientCert });
        const tls = await loadTlsMaterial(config.tls);
        const summary = {
          rules: policy.rules.map((r) => ({ name: r.name, methods: r.methods })),
          certNotAfter: tls.certNotAfter.toISOString(),
          crlNextUpdate: tls.crlNextUpdate?.toISOString() ?? null,
        };
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else process.stdout.write(`ok: ${summary.rules.length} rule(s), certificate valid until ${summary.certNotAfter}\n`);
      }),
    );
  gw.command('nginx-config')
    .description('render the same TLS settings and access policy as an nginx configuration')
    .requiredOption('--config <file>', 'gateway.yaml')
    .option('--out <dir>', 'write outpost-gateway.conf into this directory instead of printing it')
    .option('--client-cert <file...>', 'certificate files of thumbprint-pinned clients (nginx pins by SHA-1)')
    .option('--access-log <file>', 'nginx audit log path (default: auditLog from the config, or stderr)')
    .action(
      action(async (opts: { config: string; out?: string; clientCert?: string[]; accessLog?: string }) => {
        const { writeNginxConfig } = await import('./nginx-command.js');
        await writeNginxConfig(opts);
      }),
    );
}
