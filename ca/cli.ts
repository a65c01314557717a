/**
 * `outpost ca …`: the Unix-style equivalent of the JAMS CA commands (CREATE ROOT CA, CREATE EXEC CONNECTOR
 * CERT, CREATE AGENT LISTENER CERT, LIST EXEC CONFIG, EXPORT/IMPORT ROOT CA and EXEC CERT). This file
 * only parses options, asks for secrets and prints; the work is in authority.ts, transfer.ts, import.ts.
 */
import { Option, type Command } from 'commander';
import { readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { createHash, createPublicKey } from 'node:crypto';
import { action, printJson } from '../core/cli-support.js';
import { readSecret } from '../core/secret-input.js';
import { coreError } from '../core/errors.js';
import { caError } from './errors.js';
import type { CaStore } from './store.js';
import { parseKeySpec, generateKey, privateKeyPem, DEFAULT_KEY, KEY_NAMES, type KeySpec } from './keys.js';
import { parseSans, formatSan, isValidName, type LeafProfile, type SubjectAltName } from './profiles.js';
import { REVOCATION_REASONS, type RevocationReason } from './reasons.js';
import type { IssuedResult, Secret } from './authority.js';
import { lifetimeFrom } from './lifetime.js';
import { DEFAULT_MAX_ITERATIONS, MAX_EXPORT_ITERATIONS } from './kdf-budget.js';

// The work modules (forge, zod) load only when a ca command runs, so `outpost gateway …` does not pay for them.
const authority = () => import('./authority.js');
const revocation = () => import('./revocation.js');
const transfer = () => import('./transfer.js');
const importer = () => import('./import.js');
const csrs = () => import('./csr.js');

const CA_ENV = 'OUTPOST_CA_PASSWORD';
const P12_ENV = 'OUTPOST_P12_PASSWORD';

interface Common {
  caDir?: string;
  json?: boolean;
  passwordFile?: string;
  p12PasswordFile?: string;
}

async function store(o: Common): Promise<CaStore> {
  const { CaStore, defaultCaDir } = await import('./store.js');
  return new CaStore(o.caDir ?? defaultCaDir());
}

/** Asks once, on first use. */
function lazySecret(file: string | undefined, envVar: string, prompt: string, confirm = false): Secret {
  let value: Promise<string> | undefined;
  return () =>
    (value ??= readSecret({ file, envVar, prompt, confirm }).catch((err: NodeJS.ErrnoException) => {
      if (typeof err.code === 'string' && err.code.startsWith('E')) {
        throw caError('CA_INPUT_UNREADABLE', `cannot read the password file ${file}: ${err.message}`, { cause: err });
      }
      throw err;
    }));
}
const caPassphrase = (o: Common, confirm = false): Secret => lazySecret(o.passwordFile, CA_ENV, 'CA passphrase: ', confirm);
const filePassword = (o: Common, confirm = false): Secret => lazySecret(o.p12PasswordFile, P12_ENV, 'File password: ', confirm);

function keySpec(spec: string | undefined): KeySpec {
  if (spec === undefined) return DEFAULT_KEY;
  const parsed = parseKeySpec(spec);
  if (!parsed) throw caError('CA_INVALID_KEY_SIZE', `unsupported key ${JSON.stringify(spec)}; use one of ${KEY_NAMES.join(', ')}`);
  return parsed;
}

const KEY_HELP = 'rsa-2048, rsa-3072 (default), rsa-4096, ec-p256 or ec-p384';

function days(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : NaN;
}

function iterations(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1000 || n > MAX_EXPORT_ITERATIONS) throw coreError('CORE_USAGE', `--iterations must be a whole number from 1000 to ${MAX_EXPORT_ITERATIONS}`);
  return n;
}

function maxIterations(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw coreError('CORE_USAGE', '--max-iterations must be a whole number of at least 1');
  return n;
}

function sans(values: string[] | undefined): SubjectAltName[] {
  const { sans: parsed, invalid } = parseSans(values ?? []);
  if (invalid.length > 0) throw caError('CA_INVALID_SAN', `not dns:NAME or ip:ADDRESS: ${invalid.join(', ')}`);
  return parsed;
}

const maxIterationsHelp = `key-derivation iterations a file may ask for, summed over its MAC and encrypted parts (default ${DEFAULT_MAX_ITERATIONS}); raise only for a file you trust`;

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function withCommon(cmd: Command, secrets: { ca?: boolean; file?: boolean } = {}): Command {
  cmd.option('--ca-dir <dir>', 'CA store directory (default: $OUTPOST_HOME/ca, OUTPOST_HOME defaults to ~/.outpost)').option('--json', 'machine-readable output');
  const env: string[] = [];
  if (secrets.ca) {
    cmd.option('--password-file <file>', `file whose first line is the CA passphrase (or set ${CA_ENV}; otherwise asked on the terminal)`);
    env.push(`  ${CA_ENV}    the CA passphrase (root key encryption), when --password-file is not given`);
  }
  if (secrets.file) {
    cmd.option('--p12-password-file <file>', `file whose first line is the export file's password (or set ${P12_ENV})`);
    env.push(`  ${P12_ENV}   the PKCS#12 / encrypted PEM password, when --p12-password-file is not given`);
  }
  if (env.length > 0) cmd.addHelpText('after', `\nEnvironment:\n${env.join('\n')}\nPasswords are never accepted on the command line.`);
  return cmd;
}

function printIssued(o: Common, verb: string, r: IssuedResult, extra: Record<string, unknown> = {}): void {
  if (o.json) return printJson({ ...r, ...extra });
  const lines = [
    `${verb} ${r.profile} certificate CN=${r.subject}${r.isDefault ? ' (default)' : ''}`,
    `  thumbprint  ${r.thumbprint}`,
    `  serial      ${r.serial}`,
    `  valid       ${r.notBefore} .. ${r.notAfter}`,
    ...(r.sans.length > 0 ? [`  SANs        ${r.sans.join(', ')}`] : []),
    `  certificate ${r.certPath}`,
    ...(r.keyPath ? [`  key         ${r.keyPath}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function writeNew(path: string, data: string, mode: number, force?: boolean): Promise<void> {
  if (!force && (await stat(path).then(() => true, () => false))) throw caError('CA_OUTPUT_EXISTS', `${path} already exists`);
  await writeFile(path, data, { mode, flag: force ? 'w' : 'wx' });
  await chmod(path, mode);
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('certificate authority: root, connector (client) and listener (server) certificates, CRL, export/import');

  withCommon(ca.command('init').description('create the self-signed root CA and make it the default (CREATE ROOT CA /STOREKEY /MAKEDEFAULT)'), { ca: true })
    .option('--cn <name>', 'root common name', 'Outpost Root CA')
    .option('--days <n>', 'validity in days (default 3650)')
    .option('--lifetime <duration>', 'validity as a duration instead of --days: 90s, 30m, 1h, 7d')
    .option('--key <type>', KEY_HELP)
    .action(action(async (o: Common & { cn: string; days?: string; lifetime?: string; key?: string }) => {
      const r = await (await authority()).initCa(await store(o), { cn: o.cn, days: days(o.days), lifetimeMs: lifetimeFrom(o, 36500), key: keySpec(o.key), passphrase: caPassphrase(o, true) });
      printIssued(o, 'created', r);
    }));

  const issueCmd = ca.command('issue').description('issue a certificate with a key generated here');
  withCommon(issueCmd.command('connector').description('executor-connector (TLS client) certificate for the master (CREATE EXEC CONNECTOR CERT)'), { ca: true })
    .requiredOption('--name <name>', 'common name, e.g. the master host name')
    .option('--days <n>', 'validity in days (default 397)')
    .option('--lifetime <duration>', 'validity as a duration instead of --days: 90s, 30m, 1h, 7d')
    .option('--key <type>', KEY_HELP)
    .option('--make-default', 'make it the default connector certificate')
    .action(action(async (o: Common & { name: string; days?: string; lifetime?: string; key?: string; makeDefault?: boolean }) => {
      const r = await (await authority()).issue(await store(o), { profile: 'connector', name: o.name, days: days(o.days), lifetimeMs: lifetimeFrom(o, 3650), key: keySpec(o.key), makeDefault: o.makeDefault, passphrase: caPassphrase(o) });
      printIssued(o, 'issued', r);
    }));
  withCommon(issueCmd.command('listener').description('agent listener (TLS server) certificate for a gateway (CREATE AGENT LISTENER CERT)'), { ca: true })
    .requiredOption('--agent <name>', 'agent name (the common name)')
    .option('--san <list>', 'subject alternative names: dns:HOST,ip:ADDRESS (repeatable; default dns:<agent>)', collect)
    .option('--days <n>', 'validity in days (default 397)')
    .option('--lifetime <duration>', 'validity as a duration instead of --days: 90s, 30m, 1h, 7d')
    .option('--key <type>', KEY_HELP)
    .action(action(async (o: Common & { agent: string; san?: string[]; days?: string; lifetime?: string; key?: string }) => {
      const r = await (await authority()).issue(await store(o), { profile: 'listener', name: o.agent, sans: sans(o.san), days: days(o.days), lifetimeMs: lifetimeFrom(o, 3650), key: keySpec(o.key), passphrase: caPassphrase(o) });
      printIssued(o, 'issued', r);
    }));

  withCommon(ca.command('request').description('on an agent host: make a key and a CSR here, for `ca sign` on the CA (UPDATE AGENT LISTENER /REQCERT)'))
    .requiredOption('--name <name>', 'common name (agent name)')
    .option('--san <list>', 'subject alternative names: dns:HOST,ip:ADDRESS (repeatable)', collect)
    .option('--key <type>', KEY_HELP)
    .requiredOption('--out-key <file>', 'where to write the private key (PKCS#8 PEM, mode 0600)')
    .requiredOption('--out-csr <file>', 'where to write the request (PEM)')
    .option('--force', 'overwrite existing files')
    .action(action(async (o: Common & { name: string; san?: string[]; key?: string; outKey: string; outCsr: string; force?: boolean }) => {
      (await authority()).checkName(o.name);
      const parsed = sans(o.san);
      const key = await generateKey(keySpec(o.key));
      const csrPem = (await csrs()).buildCsr(o.name, parsed, key.privateKey);
      await writeNew(o.outKey, privateKeyPem(key.privateKey), 0o600, o.force);
      await writeNew(o.outCsr, csrPem, 0o644, o.force);
      const spki = createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' });
      const r = { subject: o.name, sans: parsed.map(formatSan), keyPath: o.outKey, csrPath: o.outCsr, publicKeySha256: createHash('sha256').update(spki).digest('hex').toUpperCase() };
      if (o.json) printJson(r);
      else process.stdout.write(`wrote ${o.outKey} (0600) and ${o.outCsr}\n  public key SHA-256 ${r.publicKeySha256}\nNext, on the CA: outpost ca sign ${o.outCsr} --profile listener --out agent.crt\n`);
    }));

  withCommon(ca.command('sign <csr>').description('sign a CSR made by `ca request` or `openssl req`; the key never travels'), { ca: true })
    .addOption(new Option('--profile <profile>', 'certificate profile').choices(['listener', 'connector']).makeOptionMandatory())
    .option('--san <list>', 'replace the SANs the request asks for (repeatable)', collect)
    .option('--days <n>', 'validity in days (default 397)')
    .option('--lifetime <duration>', 'validity as a duration instead of --days: 90s, 30m, 1h, 7d')
    .option('--make-default', 'make it the default connector certificate')
    .option('--out <file>', 'also write the certificate (PEM) here')
    .option('--chain', 'append the root certificate to --out')
    .action(action(async (csrPath: string, o: Common & { profile: LeafProfile; san?: string[]; days?: string; lifetime?: string; makeDefault?: boolean; out?: string; chain?: boolean }) => {
      const text = await readFile(csrPath, 'utf8').catch((err: Error) => {
        throw caError('CA_INPUT_UNREADABLE', `cannot read ${csrPath}: ${err.message}`, { cause: err });
      });
      let parsed;
      try {
        parsed = (await csrs()).parseCsr(text);
      } catch (err) {
        throw caError('CA_CSR_INVALID', `${csrPath}: ${(err as Error).message}`, { cause: err });
      }
      if (!isValidName(parsed.commonName)) throw caError('CA_CSR_INVALID', `${csrPath}: the request's common name ${JSON.stringify(parsed.commonName)} is not usable`);
      const s = await store(o);
      const r = await (await authority()).signCsr(s, { profile: o.profile, name: parsed.commonName, sans: o.san ? sans(o.san) : parsed.sans, publicKey: parsed.publicKey, days: days(o.days), lifetimeMs: lifetimeFrom(o, 3650), makeDefault: o.makeDefault, passphrase: caPassphrase(o) });
      const certPem = await s.readText(r.certPath);
      const root = o.chain ? await s.readText(s.rootCertPath((await s.readIndex()).defaultRoot ?? '')) : '';
      if (o.out) await writeNew(o.out, certPem + root, 0o644, true);
      printIssued(o, 'signed', r, { certPem, ...(o.out ? { out: o.out } : {}) });
    }));

  withCommon(ca.command('list').description('default root and connector thumbprints, issued certificates and expiry (LIST EXEC CONFIG)')).action(
    action(async (o: Common) => {
      const l = await (await authority()).list(await store(o));
      if (o.json) return printJson(l);
      const out = [`CA store          ${l.caDir}`, `default root      ${l.defaultRoot ?? '(none)'}`, `default connector ${l.defaultConnector ?? '(none)'}`, ''];
      out.push(['PROFILE  ', 'STATE  ', 'NOT AFTER ', 'THUMBPRINT (SHA-256)'.padEnd(64), 'SUBJECT'].join(' '));
      for (const c of l.certificates) {
        out.push([c.profile.padEnd(9), c.state.padEnd(7), c.notAfter.slice(0, 10), c.thumbprint, `CN=${c.subject}${c.hasKey || c.profile === 'root' ? '' : ' (no key)'}`].join(' '));
      }
      process.stdout.write(`${out.join('\n')}\n`);
    }),
  );

  const exportOpts = (cmd: Command): Command =>
    cmd
      .option('--legacy', 'PKCS#12 with 3DES and SHA-1 for Windows Server 2016 (default: AES-256, PBKDF2-SHA256)')
      .option('--iterations <n>', `PBKDF2 iterations (default 600000; 2048 with --legacy; at most ${MAX_EXPORT_ITERATIONS})`)
      .option('--force', 'overwrite the output file');

  exportOpts(withCommon(ca.command('export-root').description('the root CA with its key, issued certificates and CRL, for a standby (EXPORT ROOT CA)'), { ca: true, file: true }))
    .requiredOption('--out <file>', 'output PKCS#12 file (.p12/.pfx)')
    .action(action(async (o: Common & { out: string; legacy?: boolean; iterations?: string; force?: boolean }) => {
      const r = await (await transfer()).exportRoot(await store(o), { out: o.out, legacy: o.legacy, iterations: iterations(o.iterations), force: o.force, passphrase: caPassphrase(o), password: filePassword(o, true) });
      if (o.json) printJson(r);
      else process.stdout.write(`exported root CN=${r.subject} with ${r.records} certificate records and ${r.revoked} revocations to ${r.out}\n  thumbprint  ${r.thumbprint}\n`);
    }));

  exportOpts(withCommon(ca.command('export <thumbprint>').description('a certificate with its key as PKCS#12 or PEM (EXPORT EXEC CERT, /PEM /CHAIN)'), { file: true }))
    .requiredOption('--out <file>', 'output file: .p12/.pfx for PKCS#12, .pem for PEM (certificate, chain, encrypted key)')
    .addOption(new Option('--format <format>', 'override the format the file name implies').choices(['p12', 'pem']))
    .option('--chain', 'include the root certificate')
    .action(action(async (thumbprint: string, o: Common & { out: string; format?: 'p12' | 'pem'; chain?: boolean; legacy?: boolean; iterations?: string; force?: boolean }) => {
      const r = await (await transfer()).exportCert(await store(o), thumbprint, { out: o.out, format: o.format, chain: o.chain, legacy: o.legacy, iterations: iterations(o.iterations), force: o.force, password: filePassword(o, true) });
      if (o.json) printJson(r);
      else process.stdout.write(`exported CN=${r.subject}${r.withKey ? ' with its key' : ''}${r.chain ? ' and the root' : ''} to ${r.out} (${r.format})\n  thumbprint  ${r.thumbprint}\n`);
    }));

  withCommon(ca.command('import-root <file>').description('take over a CA exported with export-root (IMPORT ROOT CA /STOREKEY)'), { ca: true, file: true })
    .option('--make-default', 'make it the default root (new certificates are issued by it)')
    .option('--max-iterations <n>', maxIterationsHelp)
    .action(action(async (file: string, o: Common & { makeDefault?: boolean; maxIterations?: string }) => {
      const s = await store(o);
      const fresh = !(await s.exists());
      const r = await (await importer()).importRoot(s, file, { makeDefault: o.makeDefault, maxIterations: maxIterations(o.maxIterations), password: filePassword(o), passphrase: caPassphrase(o, fresh) });
      if (o.json) printJson(r);
      else process.stdout.write(`imported root CN=${r.subject}${r.isDefault ? ' (default)' : ''}: ${r.records} certificate records, ${r.revoked} revoked\n  thumbprint  ${r.thumbprint}\n`);
    }));

  withCommon(ca.command('import <file>').description('import a certificate with its key from PKCS#12 or PEM (IMPORT EXEC CERT)'), { file: true })
    .addOption(new Option('--as <slot>', 'what the certificate is for').choices(['connector', 'listener']).default('connector'))
    .option('--make-default', 'make it the default connector certificate')
    .option('--max-iterations <n>', maxIterationsHelp)
    .action(action(async (file: string, o: Common & { as: LeafProfile; makeDefault?: boolean; maxIterations?: string }) => {
      const r = await (await importer()).importCert(await store(o), file, { as: o.as, makeDefault: o.makeDefault, maxIterations: maxIterations(o.maxIterations), password: filePassword(o) });
      printIssued(o, 'imported', r);
    }));

  withCommon(ca.command('revoke <thumbprint-or-serial>').description('revoke a certificate and publish a new CRL'), { ca: true })
    .addOption(new Option('--reason <reason>', 'CRL reason code').choices(Object.keys(REVOCATION_REASONS)).default('unspecified'))
    .action(action(async (key: string, o: Common & { reason: RevocationReason }) => {
      const r = await (await revocation()).revoke(await store(o), { thumbprintOrSerial: key, reason: o.reason, passphrase: caPassphrase(o) });
      if (o.json) printJson(r);
      else process.stdout.write(`revoked CN=${r.revoked.subject} (${r.revoked.thumbprint})\n  CRL #${r.crl.crlNumber} with ${r.crl.revoked} entries written to ${r.crl.path}\n`);
    }));

  withCommon(ca.command('crl').description('sign a fresh CRL of the default root (X.509 v2, for the gateway and openssl -crl_check)'), { ca: true })
    .option('--days <n>', 'days until nextUpdate (default 7)')
    .option('--lifetime <duration>', 'validity as a duration instead of --days: 90s, 30m, 1h, 7d')
    .option('--out <file>', 'also write the CRL (PEM) here')
    .action(action(async (o: Common & { days?: string; lifetime?: string; out?: string }) => {
      const r = await (await revocation()).crl(await store(o), { days: days(o.days), lifetimeMs: lifetimeFrom(o, 365), passphrase: caPassphrase(o) });
      if (o.out) await writeNew(o.out, r.pem, 0o644, true);
      const { pem: _pem, ...rest } = r;
      if (o.json) printJson({ ...rest, ...(o.out ? { out: o.out } : {}) });
      else process.stdout.write(`CRL #${r.crlNumber} with ${r.revoked} entries, next update ${r.nextUpdate}\n  ${r.path}${o.out ? `\n  ${o.out}` : ''}\n`);
    }));

  withCommon(ca.command('renew <thumbprint>').description('issue a new certificate with the same subject, SANs and profile'), { ca: true })
    .option('--days <n>', 'validity in days (default 397)')
    .option('--lifetime <duration>', 'validity as a duration instead of --days: 90s, 30m, 1h, 7d')
    .option('--revoke-old', 'revoke the old certificate (reason superseded)')
    .action(action(async (key: string, o: Common & { days?: string; lifetime?: string; revokeOld?: boolean }) => {
      const r = await (await authority()).renew(await store(o), { thumbprintOrSerial: key, days: days(o.days), lifetimeMs: lifetimeFrom(o, 3650), revokeOld: o.revokeOld, passphrase: caPassphrase(o) });
      printIssued(o, 'renewed', r);
    }));
}
