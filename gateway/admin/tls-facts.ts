/**
 * What the admin surface reports about the gateway's TLS material: the serving certificate, the CA, the
 * CRL and the pending key. Pure: takes PEM bytes and key objects, returns plain values (the JSON of
 * GET /v1/gateway/tls, which `outpost ca fleet` reads).
 */
import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { parseCrl } from '../../ca/crl.js';
import { crlDates } from '../crl-info.js';

import type { CertFacts, CrlFacts } from '../../core/gateway-admin-wire.js';
export type { CertFacts, CrlFacts, PendingFacts, TlsFacts } from '../../core/gateway-admin-wire.js';

/** `rsa-3072`, `ec-p256`, `ed25519`: the `--key` spelling of a key's type. */
export function keyTypeOf(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  const d = key.asymmetricKeyDetails;
  if (type === 'rsa') return `rsa-${d?.modulusLength ?? 0}`;
  if (type === 'ec') return ({ prime256v1: 'ec-p256', secp384r1: 'ec-p384', secp521r1: 'ec-p521' } as Record<string, string>)[d?.namedCurve ?? ''] ?? `ec-${d?.namedCurve ?? 'unknown'}`;
  return type;
}

export function publicKeySha256(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').toUpperCase();
}

export function certificatesIn(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}

/** `DNS:a, IP Address:1.2.3.4` → ['dns:a', 'ip:1.2.3.4']. */
export function sansOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s !== '')
    .map((s) => (s.startsWith('DNS:') ? `dns:${s.slice(4)}` : s.startsWith('IP Address:') ? `ip:${s.slice(11)}` : s));
}

/** The last CN of the subject; X509Certificate prints one attribute per line. */
export function commonNameOf(cert: X509Certificate): string {
  const cns = cert.subject.split('\n').filter((l) => l.startsWith('CN='));
  return cns.at(-1)?.slice(3) ?? '';
}

export function certFacts(cert: X509Certificate): CertFacts {
  return {
    subject: cert.subject.split('\n').join(','),
    serial: cert.serialNumber.toUpperCase(),
    sha256: cert.fingerprint256.replace(/:/g, ''),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    sans: sansOf(cert),
    keyType: keyTypeOf(cert.publicKey),
  };
}

/** The CRL's number and dates, with the CA among `cas` that signed it (checked natively). */
export function crlFacts(crl: string | Buffer, cas: readonly X509Certificate[]): CrlFacts {
  const text = typeof crl === 'string' ? crl : crl.toString('latin1');
  const dates = crlDates(text);
  for (const ca of cas) {
    try {
      const parsed = parseCrl(text, ca);
      return {
        crlNumber: parsed.crlNumber ?? null,
        thisUpdate: parsed.thisUpdate.toISOString(),
        nextUpdate: parsed.nextUpdate?.toISOString() ?? null,
        issuer: ca.fingerprint256.replace(/:/g, ''),
      };
    } catch {
      // not this CA's signature (or not parseable with it): try the next one
    }
  }
  return { crlNumber: null, thisUpdate: dates.thisUpdate.toISOString(), nextUpdate: dates.nextUpdate?.toISOString() ?? null, issuer: null };
}
