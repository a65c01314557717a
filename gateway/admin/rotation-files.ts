/**
 * The files of a certificate rotation, beside the gateway's own:
 *
 *   <tls.key>.pending     the key made for the last CSR (0600), until a certificate for it is installed
 *   <tls.cert>.previous   the pair replaced by the last installation, kept until the new pair has
 *   <tls.key>.previous    served a handshake (0644 / 0600)
 *
 * Installation order: keep the current pair as .previous, write the new certificate over tls.cert
 * (atomically), then rename the pending key over tls.key. Two files cannot be swapped in one step, so a
 * gateway killed between the two finds a certificate that does not match its key; `recoverRotation`
 * runs before the gateway loads its TLS files and rolls forward (the pending key matches) or back (the
 * previous pair), so a restart always serves a valid pair, old or new.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../../core/fs-atomic.js';
import type { GatewayConfig } from '../config.js';
import { assertKeyPrivate } from '../tls.js';

type TlsPaths = Pick<GatewayConfig['tls'], 'cert' | 'key'>;

export const pendingKeyPath = (tls: TlsPaths): string => `${tls.key}.pending`;
export const previousCertPath = (tls: TlsPaths): string => `${tls.cert}.previous`;
export const previousKeyPath = (tls: TlsPaths): string => `${tls.key}.previous`;

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** True when the first certificate in `certPem` belongs to `keyPem`; false for anything unreadable. */
export function pairMatches(certPem: Buffer | undefined, keyPem: Buffer | undefined): boolean {
  if (!certPem || !keyPem) return false;
  try {
    const first = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(certPem.toString('utf8'));
    return first !== null && new X509Certificate(first[0]).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

export async function readPendingKey(tls: TlsPaths): Promise<{ key: KeyObject; createdAt: Date } | undefined> {
  const path = pendingKeyPath(tls);
  const pem = await readOrUndefined(path);
  if (!pem) return undefined;
  return { key: createPrivateKey(pem), createdAt: (await stat(path)).mtime };
}

export async function writePendingKey(tls: TlsPaths, keyPem: string): Promise<void> {
  await writeFileAtomic(pendingKeyPath(tls), keyPem, { mode: 0o600 });
}

/** Replaces the serving pair with `certPem` and the pending key, keeping the old pair as .previous. */
export async function installPair(tls: TlsPaths, certPem: string): Promise<void> {
  const [cert, key] = await Promise.all([readFile(tls.cert), readFile(tls.key)]);
  await writeFileAtomic(previousCertPath(tls), cert, { mode: 0o644 });
  await writeFileAtomic(previousKeyPath(tls), key, { mode: 0o600 });
  await writeFileAtomic(tls.cert, certPem, { mode: 0o644 });
  await rename(pendingKeyPath(tls), tls.key);
  await fsyncDir(dirname(tls.key));
}

/** Puts the .previous pair back (an installation whose result would not load). */
export async function restorePrevious(tls: TlsPaths): Promise<void> {
  const [cert, key] = await Promise.all([readFile(previousCertPath(tls)), readFile(previousKeyPath(tls))]);
  await writeFileAtomic(tls.cert, cert, { mode: 0o644 });
  await writeFileAtomic(tls.key, key, { mode: 0o600 });
}

/** Forgets the .previous pair once the new one has served a handshake. */
export async function dropPrevious(tls: TlsPaths): Promise<void> {
  await Promise.all([unlink(previousCertPath(tls)), unlink(previousKeyPath(tls))].map((p) => p.catch(() => undefined)));
}

export async function hasPrevious(tls: TlsPaths): Promise<boolean> {
  return (await readOrUndefined(previousCertPath(tls))) !== undefined;
}

export type Recovery = 'none' | 'rolled-forward' | 'rolled-back' | 'unrecoverable';

/** Repairs a rotation interrupted between its two writes; see the module comment. */
export async function recoverRotation(tls: TlsPaths): Promise<Recovery> {
  // Never read a key the gateway's user does not own: the permission check names the problem precisely.
  await assertKeyPrivate(tls.key);
  const [cert, key] = await Promise.all([readOrUndefined(tls.cert), readOrUndefined(tls.key)]);
  if (pairMatches(cert, key)) return 'none';
  const pending = await readOrUndefined(pendingKeyPath(tls));
  if (pairMatches(cert, pending)) {
    await rename(pendingKeyPath(tls), tls.key);
    await fsyncDir(dirname(tls.key));
    return 'rolled-forward';
  }
  const [prevCert, prevKey] = await Promise.all([readOrUndefined(previousCertPath(tls)), readOrUndefined(previousKeyPath(tls))]);
  if (pairMatches(prevCert, prevKey)) {
    await restorePrevious(tls);
    return 'rolled-back';
  }
  return 'unrecoverable';
}
