/**
 * The checks a certificate or CRL offered to the admin surface must pass before it is written to disk.
 * Pure functions: each returns the refusal (code and message) or the parsed value; nothing here touches
 * files, so every refusal has a unit test.
 */
import type { X509Certificate} from 'node:crypto';
import { type KeyObject } from 'node:crypto';
import { certificatesIn, crlFacts, type CrlFacts } from './tls-facts.js';

export type OfferRefusal = {
  code:
    | 'GATEWAY_ADMIN_BAD_REQUEST'
    | 'GATEWAY_CERT_KEY_MISMATCH'
    | 'GATEWAY_CERT_UNTRUSTED'
    | 'GATEWAY_CERT_WRONG_PURPOSE'
    | 'GATEWAY_CERT_EXPIRED'
    | 'GATEWAY_CRL_INVALID'
    | 'GATEWAY_CRL_FOREIGN'
    | 'GATEWAY_CRL_NOT_NEWER';
  message: string;
};

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
/** A certificate whose notBefore is this far ahead of our clock is refused as not valid yet. */
const CLOCK_SKEW_MS = 5 * 60_000;

export function checkOfferedCertificate(
  pem: string,
  pendingKey: KeyObject,
  cas: readonly X509Certificate[],
  now = Date.now(),
): { leaf: X509Certificate } | OfferRefusal {
  let chain: X509Certificate[];
  try {
    chain = certificatesIn(pem);
  } catch (err) {
    return { code: 'GATEWAY_ADMIN_BAD_REQUEST', message: `the body is not a PEM certificate chain: ${(err as Error).message}` };
  }
  const leaf = chain[0];
  if (!leaf) return { code: 'GATEWAY_ADMIN_BAD_REQUEST', message: 'the body holds no PEM certificate' };
  if (!leaf.checkPrivateKey(pendingKey)) {
    return { code: 'GATEWAY_CERT_KEY_MISMATCH', message: `certificate ${leaf.serialNumber} is not for the pending key; sign the CSR this gateway returned last` };
  }
  if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
    return { code: 'GATEWAY_CERT_UNTRUSTED', message: `certificate ${leaf.serialNumber} (issuer ${leaf.issuer.split('\n').join(',')}) is not signed by a CA in tls.ca` };
  }
  if (leaf.ca || !(leaf.keyUsage ?? []).includes(SERVER_AUTH)) {
    return { code: 'GATEWAY_CERT_WRONG_PURPOSE', message: `certificate ${leaf.serialNumber} is not a TLS server certificate (extended key usage serverAuth); sign with --profile listener` };
  }
  if (Date.parse(leaf.validTo) <= now) {
    return { code: 'GATEWAY_CERT_EXPIRED', message: `certificate ${leaf.serialNumber} expired at ${new Date(leaf.validTo).toISOString()}` };
  }
  if (Date.parse(leaf.validFrom) > now + CLOCK_SKEW_MS) {
    return { code: 'GATEWAY_CERT_EXPIRED', message: `certificate ${leaf.serialNumber} is not valid before ${new Date(leaf.validFrom).toISOString()}; check the CA host's clock` };
  }
  return { leaf };
}

/**
 * A CRL is installed only when a CA in tls.ca signed it, it has a CRL number higher than the current
 * one (an older CRL could un-revoke a certificate) and it is not already past nextUpdate.
 */
export function checkOfferedCrl(pem: string, cas: readonly X509Certificate[], currentNumber: number | null, now = Date.now()): { facts: CrlFacts } | OfferRefusal {
  if (!/-----BEGIN X509 CRL-----/.test(pem)) return { code: 'GATEWAY_ADMIN_BAD_REQUEST', message: 'the body holds no PEM X509 CRL' };
  let facts: CrlFacts;
  try {
    facts = crlFacts(pem, cas);
  } catch (err) {
    return { code: 'GATEWAY_CRL_INVALID', message: `the CRL cannot be parsed: ${(err as Error).message}` };
  }
  if (facts.issuer === null) return { code: 'GATEWAY_CRL_FOREIGN', message: 'the CRL is not signed by a CA in tls.ca' };
  if (facts.crlNumber === null) return { code: 'GATEWAY_CRL_INVALID', message: 'the CRL carries no CRL number, so it cannot be ordered against the current one' };
  if (facts.nextUpdate === null || Date.parse(facts.nextUpdate) <= now) {
    return { code: 'GATEWAY_CRL_INVALID', message: `the CRL is past its nextUpdate (${facts.nextUpdate ?? 'none'}); OpenSSL would refuse every client with it` };
  }
  if (currentNumber !== null && facts.crlNumber <= currentNumber) {
    return { code: 'GATEWAY_CRL_NOT_NEWER', message: `CRL number ${facts.crlNumber} is not higher than the current ${currentNumber}` };
  }
  return { facts };
}
