/** Turning certificates into index records and back: the pure part of the store. */
import type { X509Certificate } from 'node:crypto';
import { thumbprintOf, sha1ThumbprintOf, parseThumbprint } from './thumbprint.js';
import { normalizeSerial } from './serial.js';
import { EKU_OID, type Profile } from './profiles.js';
import { caError } from './errors.js';
import type { CertRecord, StoreIndex } from './store.js';

/** `CN=x` → `x`; X509Certificate prints the subject as `CN=x` lines. */
export function commonNameOf(cert: X509Certificate): string {
  const line = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  return line ? line.slice(3) : cert.subject.replace(/\n/g, ', ');
}

export function sansOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s !== '')
    .map((s) => s.replace(/^DNS:/, 'dns:').replace(/^IP Address:/, 'ip:'));
}

/** The profile a certificate fits, from CA:TRUE and its EKU. */
export function profileOf(cert: X509Certificate): Profile | undefined {
  if (cert.ca) return 'root';
  const eku = cert.keyUsage ?? [];
  if (eku.includes(EKU_OID.listener) && !eku.includes(EKU_OID.connector)) return 'listener';
  if (eku.includes(EKU_OID.connector) && !eku.includes(EKU_OID.listener)) return 'connector';
  return undefined;
}

export function recordOf(cert: X509Certificate, fields: Pick<CertRecord, 'profile' | 'issuer' | 'hasKey' | 'origin'> & Partial<CertRecord>): CertRecord {
  return {
    thumbprint: thumbprintOf(cert),
    sha1: sha1ThumbprintOf(cert),
    serial: normalizeSerial(cert.serialNumber) ?? cert.serialNumber,
    subject: commonNameOf(cert),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    sans: sansOf(cert),
    status: 'valid',
    createdAt: new Date().toISOString(),
    ...fields,
  };
}

/** Finds a certificate by thumbprint or serial; throws CA_CERT_NOT_FOUND otherwise. */
export function lookup(index: StoreIndex, thumbprintOrSerial: string): CertRecord {
  const thumbprint = parseThumbprint(thumbprintOrSerial);
  const serial = thumbprint ? undefined : normalizeSerial(thumbprintOrSerial);
  const found = index.certificates.find((c) => (thumbprint !== undefined && c.thumbprint === thumbprint) || (serial !== undefined && c.serial === serial));
  if (!found) throw caError('CA_CERT_NOT_FOUND', `no certificate with thumbprint or serial ${thumbprintOrSerial} in this store`);
  return found;
}

export type DisplayStatus = 'valid' | 'revoked' | 'expired';

export function displayStatus(record: CertRecord, now = Date.now()): DisplayStatus {
  if (record.status === 'revoked') return 'revoked';
  return Date.parse(record.notAfter) < now ? 'expired' : 'valid';
}
