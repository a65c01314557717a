/**
 * Moving keys and certificates between machines (JAMS's EXPORT/IMPORT ROOT CA and EXEC CERT):
 * PKCS#12 or PEM out, and imports that refuse anything they cannot vouch for. Every trust decision —
 * key match, chain, EKU, validity — is made by OpenSSL through Node's X509Certificate.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, stat, writeFile, chmod } from 'node:fs/promises';
import { caError } from './errors.js';
import { buildPkcs12, parsePkcs12, Pkcs12Error, type Pkcs12Failure } from './pkcs12.js';
import { encryptPrivateKeyPem, decryptPrivateKeyPem, WrongPassphraseError } from './pkcs8.js';
import { lookup } from './records.js';
import { unlockRoot, checkNewPassword, DEFAULT_DAYS, type Secret } from './authority.js';
import { writeCrlLocked } from './revocation.js';
import { kdfIterations, UnsupportedAlgorithmError } from './pbe.js';
import { KdfBudget, KdfLimitError } from './kdf-budget.js';
import * as der from './der.js';
import type { CaStore } from './store.js';

const PKCS12_CODES: Record<Pkcs12Failure, Parameters<typeof caError>[0]> = {
  malformed: 'CA_PKCS12_MALFORMED',
  'no-mac': 'CA_PKCS12_NO_MAC',
  'bad-password': 'CA_PKCS12_BAD_PASSWORD',
  'too-costly': 'CA_PKCS12_TOO_COSTLY',
  unsupported: 'CA_PKCS12_UNSUPPORTED',
};

export interface ExportOptions {
  out: string;
  format?: 'p12' | 'pem' | undefined;
  chain?: boolean | undefined;
  legacy?: boolean | undefined;
  iterations?: number | undefined;
  force?: boolean | undefined;
  password: Secret;
}

export function formatFor(out: string, format?: 'p12' | 'pem'): 'p12' | 'pem' {
  return format ?? (/\.(pem|crt|cer)$/i.test(out) ? 'pem' : 'p12');
}

async function writeOutput(path: string, data: string | Buffer, force: boolean | undefined): Promise<void> {
  if (!force && (await stat(path).then(() => true, () => false))) throw caError('CA_OUTPUT_EXISTS', `${path} already exists`);
  // Exports carry a private key (encrypted, but still): 0600 like every key file.
  await writeFile(path, data, { mode: 0o600, flag: force ? 'w' : 'wx' });
  await chmod(path, 0o600);
}

export interface ExportResult {
  out: string;
  format: 'p12' | 'pem';
  thumbprint: string;
  subject: string;
  withKey: boolean;
  chain: boolean;
  legacy: boolean;
}

export async function exportCert(store: CaStore, thumbprintOrSerial: string, opts: ExportOptions): Promise<ExportResult> {
  const index = await store.open();
  const record = lookup(index, thumbprintOrSerial);
  const isRoot = record.profile === 'root';
  const cert = new X509Certificate(await store.readText(isRoot ? store.rootCertPath(record.thumbprint) : store.certPath(record.thumbprint)));
  const root = index.certificates.find((c) => c.thumbprint === record.issuer && c.profile === 'root');
  const chain = opts.chain && root && !isRoot ? [new X509Certificate(await store.readText(store.rootCertPath(root.thumbprint)))] : [];
  const format = formatFor(opts.out, opts.format);
  // A root's key only leaves through export-root, which also carries the CA's records and revocations.
  const hasKey = record.hasKey && !isRoot;
  if (format === 'p12' && !hasKey) {
    throw caError('CA_NO_PRIVATE_KEY', isRoot ? 'use `outpost ca export-root` to export the root with its key' : `the store holds no key for ${record.thumbprint}; export it as PEM (--out F.pem)`);
  }
  let data: string | Buffer;
  if (format === 'pem') {
    data = [cert, ...chain].map((c) => c.toString()).join('');
    if (hasKey) {
      const password = await opts.password();
      checkNewPassword(password);
      const key = createPrivateKey(await store.readText(store.keyPath(record.thumbprint)));
      data += encryptPrivateKeyPem(key, password, opts.iterations);
    }
  } else {
    const password = await opts.password();
    checkNewPassword(password);
    const key = createPrivateKey(await store.readText(store.keyPath(record.thumbprint)));
    data = buildPkcs12({ key, certs: [cert, ...chain], password, legacy: opts.legacy, iterations: opts.iterations, friendlyName: record.subject });
  }
  await writeOutput(opts.out, data, opts.force);
  return { out: opts.out, format, thumbprint: record.thumbprint, subject: record.subject, withKey: hasKey, chain: chain.length > 0, legacy: format === 'p12' && opts.legacy === true };
}

/** The root with its key, every certificate it issued, and a fresh CRL: all a standby needs. */
export async function exportRoot(store: CaStore, opts: ExportOptions & { passphrase: Secret }): Promise<ExportResult & { records: number; revoked: number }> {
  const index = await store.open();
  const root = await unlockRoot(store, index, opts.passphrase);
  const password = await opts.password();
  checkNewPassword(password);
  const crl = await store.update((fresh) => writeCrlLocked(store, fresh, root, DEFAULT_DAYS.crl));
  const issued = index.certificates.filter((c) => c.issuer === root.record.thumbprint && c.profile !== 'root');
  const certs = [root.cert];
  for (const c of issued) certs.push(new X509Certificate(await store.readText(store.certPath(c.thumbprint))));
  const crlDer = Buffer.from(crl.pem.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
  const data = buildPkcs12({ key: root.issuer.key, certs, crls: [crlDer], password, legacy: opts.legacy, iterations: opts.iterations, friendlyName: root.record.subject });
  await writeOutput(opts.out, data, opts.force);
  return {
    out: opts.out,
    format: 'p12',
    thumbprint: root.record.thumbprint,
    subject: root.record.subject,
    withKey: true,
    chain: false,
    legacy: opts.legacy === true,
    records: issued.length,
    revoked: crl.revoked,
  };
}

export interface Bundle {
  keys: KeyObject[];
  certs: X509Certificate[];
  crls: Buffer[];
}

export interface ReadLimits {
  /** Key-derivation iterations a PKCS#12 file may ask for, summed (DEFAULT_MAX_ITERATIONS when absent). */
  maxIterations?: number | undefined;
}

function costlyHint(cause: unknown): string {
  return cause instanceof KdfLimitError ? `; re-export it with fewer iterations, or pass --max-iterations ${cause.needed} if you trust the file` : '';
}

/** Reads a PKCS#12 or PEM bundle, mapping every failure to its own code. */
export async function readBundle(file: string, password: Secret, limits: ReadLimits = {}): Promise<Bundle> {
  const bytes = await readFile(file).catch((err: Error) => {
    throw caError('CA_INPUT_UNREADABLE', `cannot read ${file}: ${err.message}`, { cause: err });
  });
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN ')) return readPem(text, password, limits);
  try {
    return parsePkcs12(bytes, await password(), { maxIterations: limits.maxIterations });
  } catch (err) {
    if (err instanceof Pkcs12Error) throw caError(PKCS12_CODES[err.reason], `${file}: ${err.message}${costlyHint(err.cause)}`, { cause: err });
    throw err;
  }
}

/** The iterations an ENCRYPTED PRIVATE KEY block declares; 0 for a scheme only OpenSSL reads (its own limits apply). */
function pemKeyIterations(block: string): number {
  try {
    const info = der.decode(Buffer.from(block.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64'));
    return kdfIterations(der.children(info)[0]);
  } catch (err) {
    if (err instanceof UnsupportedAlgorithmError) return 0;
    throw caError('CA_PEM_MALFORMED', `an ENCRYPTED PRIVATE KEY block cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
}

async function readPem(text: string, password: Secret, limits: ReadLimits): Promise<Bundle> {
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
  // PKCS#8 (plain or encrypted), and the traditional RSA and EC forms older tools write.
  const plainLabels: ReadonlySet<string | undefined> = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);
  const keyBlocks = blocks.filter(([, label]) => label === 'ENCRYPTED PRIVATE KEY' || plainLabels.has(label));
  // An import takes exactly one key: refuse more before spending any work decrypting them.
  if (keyBlocks.length > 1) throw caError('CA_IMPORT_NO_KEY', `the file holds ${keyBlocks.length} private keys; exactly one is needed`);
  const encrypted = keyBlocks.find(([, label]) => label === 'ENCRYPTED PRIVATE KEY');
  if (encrypted) {
    try {
      new KdfBudget(limits.maxIterations).plan(pemKeyIterations(encrypted[0]), 'the encrypted private key');
    } catch (err) {
      if (err instanceof KdfLimitError) throw caError('CA_PKCS12_TOO_COSTLY', `${err.message}${costlyHint(err)}`, { cause: err });
      throw err;
    }
  }
  const certs: X509Certificate[] = [];
  const keys: KeyObject[] = [];
  try {
    for (const [block, label] of blocks) {
      if (label === 'CERTIFICATE') certs.push(new X509Certificate(block));
      else if (label === 'ENCRYPTED PRIVATE KEY') keys.push(decryptPrivateKeyPem(block, await password()));
      else if (plainLabels.has(label)) keys.push(createPrivateKey(block));
    }
  } catch (err) {
    if (err instanceof WrongPassphraseError) throw caError('CA_PKCS12_BAD_PASSWORD', 'the password does not open the private key in the PEM file', { cause: err });
    throw caError('CA_PEM_MALFORMED', `a PEM block cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
  if (certs.length === 0) throw caError('CA_PEM_MALFORMED', 'the PEM file holds no CERTIFICATE block');
  return { keys, certs, crls: [] };
}

export function checkValidity(cert: X509Certificate, now = Date.now()): void {
  if (Date.parse(cert.validTo) < now) throw caError('CA_IMPORT_EXPIRED', `the certificate expired on ${new Date(cert.validTo).toISOString()}`);
  if (Date.parse(cert.validFrom) > now) throw caError('CA_IMPORT_NOT_YET_VALID', `the certificate is valid only from ${new Date(cert.validFrom).toISOString()}`);
}

export function singleKey(bundle: Bundle): KeyObject {
  const [key, extra] = bundle.keys;
  if (!key || extra) throw caError('CA_IMPORT_NO_KEY', `the file holds ${bundle.keys.length} private keys; exactly one is needed`);
  return key;
}

