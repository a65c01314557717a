/**
 * Certificate thumbprints: SHA-256 over the DER certificate. The canonical form is uppercase hex without
 * colons (64 characters), the form `ca list`, the gateway's pins and the audit log all use. Input is
 * accepted with colons or spaces and in any case, as operators copy it from `openssl x509 -fingerprint`.
 */
import { X509Certificate, createHash } from 'node:crypto';

const HEX64 = /^[0-9A-F]{64}$/;

/** Canonical form of a SHA-256 thumbprint, or undefined when `input` is not one. */
export function parseThumbprint(input: string): string | undefined {
  const compact = input.trim().replace(/^sha256[:=]/i, '').replace(/[:\s]/g, '').toUpperCase();
  return HEX64.test(compact) ? compact : undefined;
}

/** Canonical form of a SHA-256 thumbprint; throws a TypeError naming the input when it is not one. */
export function normalizeThumbprint(input: string): string {
  const canonical = parseThumbprint(input);
  if (canonical === undefined) {
    throw new TypeError(`not a SHA-256 thumbprint (64 hex digits, colons allowed): ${JSON.stringify(input)}`);
  }
  return canonical;
}

function derOf(cert: string | Uint8Array | X509Certificate): Buffer {
  if (cert instanceof X509Certificate) return cert.raw;
  if (typeof cert === 'string') return new X509Certificate(cert).raw;
  return Buffer.from(cert);
}

/** SHA-256 thumbprint of a certificate given as PEM, DER bytes or an X509Certificate. */
export function thumbprintOf(cert: string | Uint8Array | X509Certificate): string {
  return createHash('sha256').update(derOf(cert)).digest('hex').toUpperCase();
}

/** SHA-1 thumbprint, kept in the index because Windows tools (and the JAMS seed) still show it. */
export function sha1ThumbprintOf(cert: string | Uint8Array | X509Certificate): string {
  return createHash('sha1').update(derOf(cert)).digest('hex').toUpperCase();
}

/** `AB:CD:…` form, for people comparing against `openssl x509 -fingerprint -sha256`. */
export function colonThumbprint(thumbprint: string): string {
  return normalizeThumbprint(thumbprint).replace(/(..)(?!$)/g, '$1:');
}
