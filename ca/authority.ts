/**
 * The certificate authority's operations over a CaStore: init, issue, sign, renew, revoke, CRL, list.
 * Returns plain values and never logs (the CLI prints). Secrets arrive as callbacks so a command asks for
 * a passphrase only when it really needs one.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { caError } from './errors.js';
import { generateKey, privateKeyPem, keyWeakness, keySpecOf, DEFAULT_KEY, type KeySpec } from './keys.js';
import { buildCertificate, type Issuer } from './x509.js';
import { randomSerialHex } from './serial.js';
import { decryptPrivateKeyPem, encryptPrivateKeyPem, WrongPassphraseError } from './pkcs8.js';
import { isDnsName, isValidName, formatSan, type LeafProfile, type SubjectAltName } from './profiles.js';
import { recordOf, lookup, displayStatus } from './records.js';
import { backdateFor } from './lifetime.js';
import type { CaStore, CertRecord, StoreIndex } from './store.js';

export type Secret = () => Promise<string>;
export const DAY = 86_400_000;
/** Backdating absorbs small clock differences between the CA and the machines that check. */
export const BACKDATE_MS = 5 * 60_000;

export const DEFAULT_DAYS = { root: 3650, leaf: 397, crl: 7 } as const;

export interface IssuedResult {
  thumbprint: string;
  sha1: string;
  serial: string;
  subject: string;
  profile: string;
  notBefore: string;
  notAfter: string;
  sans: string[];
  certPath: string;
  keyPath?: string | undefined;
  isDefault?: boolean;
}

export function checkName(name: string): void {
  if (!isValidName(name)) throw caError('CA_INVALID_NAME', `invalid name ${JSON.stringify(name)}`);
}

export function checkDays(days: number, max: number): void {
  if (!Number.isInteger(days) || days < 1 || days > max) throw caError('CA_INVALID_VALIDITY', `--days must be a whole number from 1 to ${max}, got ${days}`);
}

/** Refuses to certify or import a weak key; `what` says whose key it is. */
export function checkKeyStrength(key: KeyObject, what: string): void {
  const weakness = keyWeakness(key);
  if (weakness) throw caError('CA_KEY_TOO_WEAK', `${what} has ${weakness}`);
}

export function checkNewPassword(password: string): void {
  if (password.length < 8) throw caError('CA_PASSWORD_TOO_SHORT', 'passphrases and export passwords need at least 8 characters');
}

export function resultOf(store: CaStore, r: CertRecord, isDefault?: boolean): IssuedResult {
  return {
    thumbprint: r.thumbprint,
    sha1: r.sha1,
    serial: r.serial,
    subject: r.subject,
    profile: r.profile,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    sans: r.sans,
    certPath: r.profile === 'root' ? store.rootCertPath(r.thumbprint) : store.certPath(r.thumbprint),
    ...(r.hasKey && r.profile !== 'root' ? { keyPath: store.keyPath(r.thumbprint) } : {}),
    ...(isDefault === undefined ? {} : { isDefault }),
  };
}

function uniqueSerial(index: StoreIndex): string {
  for (;;) {
    const serial = randomSerialHex();
    if (!index.certificates.some((c) => c.serial === serial)) return serial;
  }
}

export async function initCa(store: CaStore, opts: { cn: string; days?: number | undefined; lifetimeMs?: number | undefined; key?: KeySpec | undefined; passphrase: Secret }): Promise<IssuedResult> {
  checkName(opts.cn);
  const days = opts.days ?? DEFAULT_DAYS.root;
  checkDays(days, 36500);
  const lifetime = opts.lifetimeMs ?? days * DAY;
  if ((await store.exists()) && (await store.readIndex()).defaultRoot) {
    throw caError('CA_STORE_EXISTS', `${store.dir} already holds a root CA`);
  }
  const passphrase = await opts.passphrase();
  checkNewPassword(passphrase);
  const key = await generateKey(opts.key ?? DEFAULT_KEY);
  const encryptedKey = encryptPrivateKeyPem(key.privateKey, passphrase);
  return store.update(
    async (index) => {
      if (index.defaultRoot) throw caError('CA_STORE_EXISTS', `${store.dir} already holds a root CA`);
      const now = Date.now();
      const built = buildCertificate({
        serialHex: uniqueSerial(index),
        subject: { commonName: opts.cn },
        publicKey: key.publicKey,
        signingKey: key.privateKey,
        notBefore: new Date(now - backdateFor(lifetime)),
        notAfter: new Date(now + lifetime),
        profile: 'root',
      });
      const record = recordOf(built.x509, { profile: 'root', issuer: '', hasKey: true, origin: 'init' });
      record.issuer = record.thumbprint;
      await store.writePrivate(store.rootKeyPath(record.thumbprint), encryptedKey);
      await store.writePublic(store.rootCertPath(record.thumbprint), built.pem);
      index.certificates.push(record);
      index.defaultRoot = record.thumbprint;
      return resultOf(store, record, true);
    },
    { create: true },
  );
}

export interface UnlockedRoot {
  record: CertRecord;
  cert: X509Certificate;
  issuer: Issuer;
}

/** Loads the default root and decrypts its key. */
export async function unlockRoot(store: CaStore, index: StoreIndex, passphrase: Secret): Promise<UnlockedRoot> {
  const thumbprint = index.defaultRoot;
  const record = thumbprint ? index.certificates.find((c) => c.thumbprint === thumbprint) : undefined;
  if (!thumbprint || !record) throw caError('CA_STORE_NOT_FOUND', `the store at ${store.dir} has no default root CA`);
  const pem = await store.readText(store.rootCertPath(thumbprint));
  const keyPem = await store.readText(store.rootKeyPath(thumbprint));
  let key: KeyObject;
  try {
    key = decryptPrivateKeyPem(keyPem, await passphrase());
  } catch (err) {
    if (err instanceof WrongPassphraseError) throw caError('CA_BAD_PASSPHRASE', 'the passphrase does not open the root CA key', { cause: err });
    throw err;
  }
  const cert = new X509Certificate(pem);
  return { record, cert, issuer: { cert, key } };
}

/** Listener certificates need a name to be reached by; default to the agent name when it is a host name. */
function listenerSans(name: string, sans: readonly SubjectAltName[]): SubjectAltName[] {
  if (sans.length > 0) return [...sans];
  if (isDnsName(name)) return [{ type: 'dns', value: name.toLowerCase() }];
  throw caError('CA_PROFILE_INVALID', `listener certificate for ${JSON.stringify(name)} needs --san dns:HOST and/or ip:ADDRESS`);
}

interface SignRequest {
  profile: LeafProfile;
  name: string;
  sans: readonly SubjectAltName[];
  days?: number | undefined;
  /** Overrides days (`--lifetime`). */
  lifetimeMs?: number | undefined;
  publicKey: KeyObject;
  privateKey?: KeyObject | undefined;
  makeDefault?: boolean | undefined;
  origin: 'issued' | 'signed';
  renewedFrom?: string | undefined;
  /** Revoke this thumbprint (superseded) in the same index update. */
  supersede?: string | undefined;
}

async function signInto(store: CaStore, root: UnlockedRoot, req: SignRequest): Promise<IssuedResult> {
  checkName(req.name);
  // Covers CSRs and renewals of certificates signed before this check existed.
  checkKeyStrength(req.publicKey, req.renewedFrom ? 'the certificate to renew' : req.origin === 'signed' ? 'the request' : 'the new key');
  const days = req.days ?? DEFAULT_DAYS.leaf;
  checkDays(days, 3650);
  const lifetime = req.lifetimeMs ?? days * DAY;
  const sans = req.profile === 'listener' ? listenerSans(req.name, req.sans) : [...req.sans];
  return store.update(async (index) => {
    const now = Date.now();
    const notAfter = Math.min(now + lifetime, Date.parse(root.record.notAfter));
    const built = buildCertificate({
      serialHex: uniqueSerial(index),
      subject: { commonName: req.name },
      publicKey: req.publicKey,
      notBefore: new Date(now - backdateFor(lifetime)),
      notAfter: new Date(notAfter),
      profile: req.profile,
      sans,
      issuer: root.issuer,
    });
    const record = recordOf(built.x509, { profile: req.profile, issuer: root.record.thumbprint, hasKey: req.privateKey !== undefined, origin: req.origin });
    if (req.renewedFrom) record.renewedFrom = req.renewedFrom;
    if (req.privateKey) await store.writePrivate(store.keyPath(record.thumbprint), privateKeyPem(req.privateKey));
    await store.writePublic(store.certPath(record.thumbprint), built.pem);
    index.certificates.push(record);
    if (req.supersede) {
      const old = index.certificates.find((c) => c.thumbprint === req.supersede);
      if (old && old.status === 'valid') Object.assign(old, { status: 'revoked', revokedAt: new Date(now).toISOString(), reason: 'superseded' });
    }
    const makeDefault = req.profile === 'connector' && (req.makeDefault === true || (req.renewedFrom !== undefined && index.defaultConnector === req.renewedFrom));
    if (makeDefault) index.defaultConnector = record.thumbprint;
    return resultOf(store, record, req.profile === 'connector' ? index.defaultConnector === record.thumbprint : undefined);
  });
}

export interface IssueOptions {
  profile: LeafProfile;
  name: string;
  sans?: readonly SubjectAltName[];
  days?: number | undefined;
  lifetimeMs?: number | undefined;
  key?: KeySpec | undefined;
  makeDefault?: boolean | undefined;
  passphrase: Secret;
}

export async function issue(store: CaStore, opts: IssueOptions): Promise<IssuedResult> {
  checkName(opts.name);
  if (opts.days !== undefined) checkDays(opts.days, 3650);
  const sans = opts.profile === 'listener' ? listenerSans(opts.name, opts.sans ?? []) : [...(opts.sans ?? [])];
  const index = await store.open();
  // Key generation runs beside the passphrase's PBKDF2: both are off the event loop.
  const [root, key] = await Promise.all([unlockRoot(store, index, opts.passphrase), generateKey(opts.key ?? DEFAULT_KEY)]);
  return signInto(store, root, { ...opts, sans, publicKey: key.publicKey, privateKey: key.privateKey, origin: 'issued' });
}

export async function signCsr(
  store: CaStore,
  opts: { profile: LeafProfile; name: string; sans: readonly SubjectAltName[]; publicKey: KeyObject; days?: number | undefined; lifetimeMs?: number | undefined; makeDefault?: boolean | undefined; passphrase: Secret },
): Promise<IssuedResult> {
  const root = await unlockRoot(store, await store.open(), opts.passphrase);
  return signInto(store, root, { ...opts, origin: 'signed' });
}

/** signCsr with a root already unlocked: a rotation over many gateways opens the root key once. */
export function signCsrWith(
  store: CaStore,
  root: UnlockedRoot,
  opts: { profile: LeafProfile; name: string; sans: readonly SubjectAltName[]; publicKey: KeyObject; lifetimeMs?: number | undefined },
): Promise<IssuedResult> {
  return signInto(store, root, { ...opts, origin: 'signed' });
}

export async function renew(store: CaStore, opts: { thumbprintOrSerial: string; days?: number | undefined; lifetimeMs?: number | undefined; revokeOld?: boolean | undefined; passphrase: Secret }): Promise<IssuedResult> {
  const index = await store.open();
  const old = lookup(index, opts.thumbprintOrSerial);
  if (old.profile === 'root') throw caError('CA_PROFILE_INVALID', 'a root is not renewed; create a new CA with `outpost ca init --ca-dir …`');
  const oldCert = new X509Certificate(await store.readText(store.certPath(old.thumbprint)));
  // The new key is of the old one's type (an EC certificate stays EC).
  const spec = keySpecOf(oldCert.publicKey) ?? DEFAULT_KEY;
  // A key the store holds is replaced; a CSR-signed certificate keeps its key, which lives on its host.
  const [root, fresh] = await Promise.all([unlockRoot(store, index, opts.passphrase), old.hasKey ? generateKey(spec) : undefined]);
  const sans = old.sans.map((s) => ({ type: s.startsWith('ip:') ? 'ip' : 'dns', value: s.slice(s.indexOf(':') + 1) }) as SubjectAltName);
  return signInto(store, root, {
    profile: old.profile,
    name: old.subject,
    sans,
    days: opts.days,
    lifetimeMs: opts.lifetimeMs,
    publicKey: fresh?.publicKey ?? oldCert.publicKey,
    privateKey: fresh?.privateKey,
    origin: old.origin === 'signed' ? 'signed' : 'issued',
    renewedFrom: old.thumbprint,
    supersede: opts.revokeOld ? old.thumbprint : undefined,
  });
}

export interface Listing {
  caDir: string;
  defaultRoot: string | null;
  defaultConnector: string | null;
  crlNumber: number;
  certificates: (CertRecord & { state: string })[];
}

export async function list(store: CaStore): Promise<Listing> {
  const index = await store.open();
  return {
    caDir: store.dir,
    defaultRoot: index.defaultRoot,
    defaultConnector: index.defaultConnector,
    crlNumber: index.crlNumber,
    certificates: index.certificates.map((c) => ({ ...c, state: displayStatus(c) })),
  };
}

export { formatSan };
