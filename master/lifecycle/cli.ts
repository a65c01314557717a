/**
 * `outpost ca rotate|publish-crl|fleet|maintain`: certificate lifecycle driven from the master, where the
 * CA store lives. The master dials every gateway's admin surface; gateways make their own keys, so no
 * private key ever travels. Registered under `outpost ca` beside the store commands of ca/cli.ts.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { action, printJson } from '../../core/cli-support.js';
import { readSecret } from '../../core/secret-input.js';
import { coreError } from '../../core/errors.js';
import { defaultCaDir } from '../../ca/store.js';
import { parseLifetime } from '../../ca/lifetime.js';
import { masterError } from '../errors.js';
import { parseAgentUrl, parseAgentsFile } from '../targets.js';
import { tlsCredentials, type TlsFlags } from '../cli-options.js';
import { GatewayAdminClient } from './admin-client.js';
import { CaContext } from './ca-context.js';
import { fleetRow, mapLimited, publishCrl, rotateGateway } from './operations.js';
import { maintain } from './maintain.js';

interface LifecycleFlags extends TlsFlags {
  caDir?: string;
  agent?: string[];
  agentsFile?: string;
  concurrency?: string;
  caPasswordFile?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function withTargets(cmd: Command, required = true): Command {
  return cmd
    .option('--agent <url>', 'a gateway URL (repeatable)', collect)
    .option('--agents-file <file>', `gateways, one \`[NAME] URL[,URL…]\` per line (every URL is a gateway)${required ? '' : ''}`)
    .option('--ca-dir <dir>', 'CA store directory (default: $OUTPOST_HOME/ca)')
    .option('--ca-password-file <file>', 'file whose first line is the CA passphrase (or set OUTPOST_CA_PASSWORD)')
    .option('--cert <file>', 'connector certificate for the admin calls (default: the CA store\'s default connector)')
    .option('--key <file>', 'its private key')
    .option('--ca <file>', 'CA bundle that verifies the gateways (default: the CA store\'s default root)')
    .option('--concurrency <n>', 'gateways handled at once', '4')
    .option('--request-timeout <seconds>', 'how long to wait for a gateway to answer', '60')
    .option('--json', 'machine-readable output');
}

async function gatewaysOf(flags: LifecycleFlags): Promise<string[]> {
  const urls = (flags.agent ?? []).map(parseAgentUrl);
  if (flags.agentsFile) {
    const text = await readFile(flags.agentsFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw masterError('MASTER_AGENTS_FILE_INVALID', `cannot read ${flags.agentsFile}: ${err.code ?? err.message}`, { cause: err });
    });
    for (const t of parseAgentsFile(text, flags.agentsFile)) urls.push(...t.candidates);
  }
  if (urls.length === 0) throw coreError('CORE_USAGE', 'name the gateways with --agent URL (repeatable) or --agents-file FILE');
  return [...new Set(urls)];
}

function caContext(flags: LifecycleFlags): CaContext {
  let value: Promise<string> | undefined;
  const secret = () => (value ??= readSecret({ file: flags.caPasswordFile, envVar: 'OUTPOST_CA_PASSWORD', prompt: 'CA passphrase: ' }));
  return new CaContext(flags.caDir ?? defaultCaDir(), secret);
}

function concurrency(flags: LifecycleFlags): number {
  const n = Number(flags.concurrency ?? '4');
  if (!Number.isInteger(n) || n < 1 || n > 256) throw coreError('CORE_USAGE', '--concurrency must be a whole number from 1 to 256');
  return n;
}

async function clients(flags: LifecycleFlags): Promise<{ urls: string[]; make(url: string): GatewayAdminClient }> {
  const urls = await gatewaysOf(flags);
  const creds = await tlsCredentials(flags, process.env, flags.caDir);
  const timeout = Number(flags.requestTimeout ?? '60') * 1000;
  return { urls, make: (url) => new GatewayAdminClient(url, creds, { requestTimeoutMs: timeout }) };
}

function table<R extends object>(rows: readonly R[], columns: readonly (keyof R & string)[]): string {
  const cell = (v: unknown): string => (v === undefined || v === null ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n') + '\n';
}

function failIf(count: number, what: string): void {
  if (count > 0) throw masterError('MASTER_LIFECYCLE_FAILED', `${count} ${what} failed; see the table above`);
}

export function registerCaLifecycleCommands(ca: Command): void {
  withTargets(ca.command('rotate').description('for each gateway: it makes a new key and a CSR, the CA signs it, the gateway installs it (keys never travel)'))
    .option('--if-expires-within <duration>', 'only gateways whose certificate expires within this long (90s, 30m, 12h, 7d)')
    .option('--lifetime <duration>', 'lifetime of the new certificates (default: the lifetime of the one replaced)')
    .action(action(async (flags: LifecycleFlags & { ifExpiresWithin?: string; lifetime?: string }) => {
      const within = flags.ifExpiresWithin === undefined ? undefined : parseLifetime(flags.ifExpiresWithin, '--if-expires-within');
      const lifetime = flags.lifetime === undefined ? undefined : parseLifetime(flags.lifetime);
      const ctx = caContext(flags);
      const { urls, make } = await clients(flags);
      const signer = ctx.listenerSigner(lifetime);
      const started = performance.now();
      const rows = await mapLimited(urls, concurrency(flags), async (url) => {
        const c = make(url);
        const t0 = performance.now();
        try {
          return { ...(await rotateGateway(c, signer, { ifExpiresWithinMs: within })), ms: Math.round(performance.now() - t0) };
        } finally {
          await c.close();
        }
      });
      if (flags.json) printJson({ rows, ms: Math.round(performance.now() - started) });
      else process.stdout.write(table(rows, ['gateway', 'status', 'serial', 'notAfter', 'code', 'message']));
      failIf(rows.filter((r) => r.status === 'failed').length, 'rotation(s)');
    }));

  withTargets(ca.command('publish-crl').description('push the CA store\'s current CRL to each gateway (refused by a gateway that has a newer one)'))
    .action(action(async (flags: LifecycleFlags) => {
      const ctx = caContext(flags);
      const crl = await ctx.currentCrl();
      if (!crl) throw coreError('CORE_USAGE', `the CA store has no CRL yet: sign one with \`outpost ca crl\``);
      const { urls, make } = await clients(flags);
      const rows = await mapLimited(urls, concurrency(flags), async (url) => {
        const c = make(url);
        try {
          return await publishCrl(c, crl.pem);
        } finally {
          await c.close();
        }
      });
      if (flags.json) printJson({ crlNumber: crl.crlNumber, nextUpdate: crl.nextUpdate, rows });
      else process.stdout.write(`CRL #${crl.crlNumber}, next update ${crl.nextUpdate ?? '-'}\n${table(rows, ['gateway', 'status', 'crlNumber', 'code', 'message'])}`);
      failIf(rows.filter((r) => r.status === 'failed').length, 'publication(s)');
    }));

  withTargets(ca.command('fleet').description('each gateway\'s certificate expiry, key type, CRL number and nextUpdate, and a verdict (ok / renew soon / CRL stale / unreachable)'))
    .action(action(async (flags: LifecycleFlags) => {
      const ctx = caContext(flags);
      const storeCrl = await ctx.currentCrl().catch(() => undefined);
      const { urls, make } = await clients(flags);
      const rows = await mapLimited(urls, concurrency(flags), async (url) => {
        const c = make(url);
        try {
          return (await fleetRow(c, storeCrl?.crlNumber)).row;
        } finally {
          await c.close();
        }
      });
      if (flags.json) printJson({ storeCrlNumber: storeCrl?.crlNumber ?? null, rows });
      else process.stdout.write(table(rows, ['gateway', 'verdict', 'notAfter', 'keyType', 'crlNumber', 'crlNextUpdate', 'code']));
    }));

  withTargets(ca.command('maintain').description('for a timer: re-sign the CRL at half its life and publish it, rotate gateway certificates past 2/3 of their lifetime, renew the default connector'))
    .option('--listener-lifetime <duration>', 'lifetime of rotated gateway certificates (default: keep each one\'s lifetime)')
    .option('--connector-lifetime <duration>', 'lifetime of the renewed connector certificate (default: keep its lifetime)')
    .option('--crl-lifetime <duration>', 'lifetime of a re-signed CRL (default: keep the current CRL\'s, 7d for the first)')
    .action(action(async (flags: LifecycleFlags & { listenerLifetime?: string; connectorLifetime?: string; crlLifetime?: string }) => {
      const opt = (v: string | undefined, name: string) => (v === undefined ? undefined : parseLifetime(v, name));
      const ctx = caContext(flags);
      const { urls } = await clients(flags);
      const creds = await tlsCredentials(flags, process.env, flags.caDir);
      const summary = await maintain(ctx, {
        gateways: urls, creds, concurrency: concurrency(flags), requestTimeoutMs: Number(flags.requestTimeout ?? '60') * 1000,
        listenerLifetimeMs: opt(flags.listenerLifetime, '--listener-lifetime'),
        connectorLifetimeMs: opt(flags.connectorLifetime, '--connector-lifetime'),
        crlLifetimeMs: opt(flags.crlLifetime, '--crl-lifetime'),
      });
      if (flags.json) printJson(summary);
      else {
        process.stdout.write(`CRL #${summary.crl.crlNumber} ${summary.crl.action}, next update ${summary.crl.nextUpdate ?? '-'}\n`);
        process.stdout.write(table(summary.gateways.map((g) => ({
          gateway: g.gateway, crl: g.crl.status, certificate: g.certificate.status, serial: g.certificate.serial, notAfter: g.certificate.notAfter,
          code: g.certificate.code ?? ('code' in g.crl ? g.crl.code : undefined),
        })), ['gateway', 'crl', 'certificate', 'serial', 'notAfter', 'code']));
        process.stdout.write(`connector ${summary.connector.action}${summary.connector.notAfter ? ` (not after ${summary.connector.notAfter})` : ''}${summary.connector.message ? `: ${summary.connector.message}` : ''}\n`);
      }
      failIf(summary.failures, 'step(s)');
    }));
}
