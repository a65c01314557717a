/**
 * Revocation: marking certificates revoked and signing the CRL of the default root (X.509 v2, RFC 5280
 * section 5) that the gateway and `openssl verify -crl_check` use. CRL numbers only ever grow.
 */
import { createHash } from 'node:crypto';
import { caError } from './errors.js';
import { buildCrl, type RevocationReason } from './crl.js';
import { lookup } from './records.js';
import { backdateFor } from './lifetime.js';
import { unlockRoot, resultOf, checkDays, DAY, DEFAULT_DAYS, type IssuedResult, type Secret, type UnlockedRoot } from './authority.js';
import type { CaStore, StoreIndex } from './store.js';

export interface CrlResult {
  path: string;
  /** SHA-256 of the DER CRL, uppercase hex: what the gateway can log when it loads it. */
  thumbprint: string;
  crlNumber: number;
  revoked: number;
  nextUpdate: string;
  issuer: string;
  pem: string;
}

/** Signs a fresh CRL of the default root inside an index update (the CRL number only ever grows). */
export function writeCrlLocked(store: CaStore, index: StoreIndex, root: UnlockedRoot, lifetimeMs: number): Promise<CrlResult> {
  const now = Date.now();
  index.crlNumber += 1;
  const revoked = index.certificates
    .filter((c) => c.status === 'revoked' && c.issuer === root.record.thumbprint)
    .map((c) => ({ serialHex: c.serial, revokedAt: new Date(c.revokedAt ?? now), reason: c.reason }));
  const nextUpdate = new Date(now + lifetimeMs);
  const pem = buildCrl({ issuerCert: root.cert, issuerKey: root.issuer.key, crlNumber: index.crlNumber, thisUpdate: new Date(now - backdateFor(lifetimeMs)), nextUpdate, revoked });
  return store
    .writePublic(store.crlPath, pem)
    .then(() => ({ path: store.crlPath, thumbprint: createHash('sha256').update(Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64')).digest('hex').toUpperCase(), crlNumber: index.crlNumber, revoked: revoked.length, nextUpdate: nextUpdate.toISOString(), issuer: root.record.thumbprint, pem }));
}

export async function crl(store: CaStore, opts: { days?: number | undefined; lifetimeMs?: number | undefined; passphrase: Secret }): Promise<CrlResult> {
  const days = opts.days ?? DEFAULT_DAYS.crl;
  checkDays(days, 365);
  const root = await unlockRoot(store, await store.open(), opts.passphrase);
  return store.update((index) => writeCrlLocked(store, index, root, opts.lifetimeMs ?? days * DAY));
}

export async function revoke(
  store: CaStore,
  opts: { thumbprintOrSerial: string; reason?: RevocationReason | undefined; crlDays?: number | undefined; passphrase: Secret },
): Promise<{ revoked: IssuedResult; crl: CrlResult }> {
  const index = await store.open();
  const target = lookup(index, opts.thumbprintOrSerial);
  if (target.profile === 'root') throw caError('CA_PROFILE_INVALID', 'a root CA cannot revoke itself; retire it by making another root the default');
  if (target.status === 'revoked') throw caError('CA_ALREADY_REVOKED', `${target.thumbprint} was revoked at ${target.revokedAt}`);
  const root = await unlockRoot(store, index, opts.passphrase);
  return store.update(async (fresh) => {
    const record = lookup(fresh, target.thumbprint);
    if (record.status === 'revoked') throw caError('CA_ALREADY_REVOKED', `${record.thumbprint} was revoked at ${record.revokedAt}`);
    Object.assign(record, { status: 'revoked', revokedAt: new Date().toISOString(), reason: opts.reason ?? 'unspecified' });
    if (fresh.defaultConnector === record.thumbprint) fresh.defaultConnector = null;
    const crlResult = await writeCrlLocked(store, fresh, root, (opts.crlDays ?? DEFAULT_DAYS.crl) * DAY);
    return { revoked: resultOf(store, record), crl: crlResult };
  });
}
