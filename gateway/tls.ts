/**
 * TLS settings and the files behind them. Mozilla "intermediate" (guidelines 6.0): TLS 1.2 and 1.3, ECDHE
 * with AES-GCM or ChaCha20-Poly1305 only, curves X25519/P-256/P-384, no server cipher preference (every
 * suite is strong; clients pick what is fast for them), no renegotiation, no session tickets (a reload
 * must not leave old ticket keys valid). https://ssl-config.mozilla.org/guidelines/6.0.json
 */
import { constants, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import { parseCrls, type CrlInfo } from './crl-info.js';
import type { TrustSet } from './peer-recheck.js';
import type { GatewayConfig } from './config.js';
import { gatewayError } from './errors.js';
import { keyWeakness } from '../ca/keys.js';

export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;
export const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;
/** OpenSSL names; nginx spells P-256/P-384 as prime256v1/secp384r1. */
export const CURVES = ['X25519', 'P-256', 'P-384'] as const;

export interface TlsMaterial {
  options: SecureContextOptions;
  certNotAfter: Date;
  caNotAfter: Date;
  crlNextUpdate: Date | undefined;
  /** The CA set and CRLs as values, to re-check connections already open when these files change. */
  trust: TrustSet;
}

async function readTlsFile(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw gatewayError('GATEWAY_TLS_FILE_UNREADABLE', `tls.${key} ${path}: ${code}`, { cause: err });
  }
}

/**
 * The key must be private to the gateway's user (only the gateway's user reads the key: the job agent's user must not): owned by the
 * running user and no group/other bits. Checked before reading so a misconfigured key never gets used.
 */
export async function assertKeyPrivate(path: string, uid = process.getuid?.()): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw gatewayError('GATEWAY_TLS_FILE_UNREADABLE', `tls.key ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw gatewayError('GATEWAY_KEY_PERMISSIONS', `tls.key ${path} has mode ${mode.toString(8).padStart(4, '0')}; other users can read it`);
  }
  if (uid !== undefined && st.uid !== uid) {
    throw gatewayError('GATEWAY_KEY_PERMISSIONS', `tls.key ${path} is owned by uid ${st.uid}, not by the gateway's user (uid ${uid})`);
  }
}

function certsIn(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** Refuses to start on a weak key of our own or of a CA we trust: a client could not trust us more than it. */
function checkKeyStrength(key: string, path: string, certs: readonly X509Certificate[]): void {
  for (const cert of certs) {
    const weakness = keyWeakness(cert.publicKey);
    if (weakness) throw gatewayError('GATEWAY_TLS_KEY_TOO_WEAK', `${key} ${path}: ${cert.subject.replace(/\n/g, ', ')} has ${weakness}`);
  }
}

/** Reads and checks every file under `tls:`; nothing is half-applied when one of them is bad. */
export async function loadTlsMaterial(tls: GatewayConfig['tls']): Promise<TlsMaterial> {
  await assertKeyPrivate(tls.key);
  const [cert, key, ca, crl] = await Promise.all([
    readTlsFile('cert', tls.cert),
    readTlsFile('key', tls.key),
    readTlsFile('ca', tls.ca),
    tls.crl === undefined ? undefined : readTlsFile('crl', tls.crl),
  ]);
  let leaf: X509Certificate;
  let caCerts: X509Certificate[];
  try {
    const chain = certsIn(cert.toString('utf8'));
    if (!chain[0]) throw new Error('no certificate in the file');
    leaf = chain[0];
    caCerts = certsIn(ca.toString('utf8'));
    if (!caCerts[0]) throw new Error('no CA certificate in tls.ca');
  } catch (err) {
    throw gatewayError('GATEWAY_TLS_FILE_UNREADABLE', `tls.cert/tls.ca: ${(err as Error).message}`, { cause: err });
  }
  checkKeyStrength('tls.cert', tls.cert, [leaf]);
  checkKeyStrength('tls.ca', tls.ca, caCerts);
  let crlNextUpdate: Date | undefined;
  let crls: CrlInfo[] | undefined;
  if (crl) {
    try {
      crls = parseCrls(crl);
      crlNextUpdate = crls[0]!.nextUpdate;
    } catch (err) {
      throw gatewayError('GATEWAY_TLS_FILE_UNREADABLE', `tls.crl ${tls.crl}: ${(err as Error).message}`, { cause: err });
    }
  }
  const options: SecureContextOptions = {
    cert,
    key,
    ca,
    ...(crl ? { crl } : {}),
    minVersion: tls.minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':'),
    ecdhCurve: CURVES.join(':'),
    honorCipherOrder: false,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_TICKET,
  };
  const caNotAfter = new Date(Math.min(...caCerts.map((c) => Date.parse(c.validTo))));
  return { options, certNotAfter: new Date(leaf.validTo), caNotAfter, crlNextUpdate, trust: { caCerts, crls } };
}

/** Whole days until `date` (negative once past), for the days-to-expiry metric and warnings. */
export function daysUntil(date: Date, now = Date.now()): number {
  return Math.floor((date.getTime() - now) / 86_400_000);
}
