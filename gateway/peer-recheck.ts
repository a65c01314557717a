/**
 * The verdict on a client certificate that already completed its handshake, against the trust a reload
 * brings (CA set, CRLs): what OpenSSL would say if the client connected now. Open keep-alive connections
 * and long streams would otherwise keep the rights of a certificate revoked after they began. The codes
 * are OpenSSL's verify codes, so the audit reads the same as for a refused handshake.
 */
import type { X509Certificate } from 'node:crypto';
import { certIssuer, normalizeSerial, type CrlInfo } from './crl-info.js';

export interface TrustSet {
  caCerts: readonly X509Certificate[];
  /** Undefined without tls.crl: then nothing is checked for revocation, as in the handshake. */
  crls: readonly CrlInfo[] | undefined;
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function revocation(cert: X509Certificate, crls: readonly CrlInfo[], now: number): string | undefined {
  const issuer = certIssuer(cert.raw);
  const crl = crls.find((c) => c.issuer === issuer);
  // OpenSSL with a CRL configured refuses a certificate whose issuer has none (Node sets CRL_CHECK).
  if (!crl) return 'UNABLE_TO_GET_CRL';
  if (crl.nextUpdate && crl.nextUpdate.getTime() < now) return 'CRL_HAS_EXPIRED';
  return crl.revoked.has(normalizeSerial(cert.serialNumber)) ? 'CERT_REVOKED' : undefined;
}

/** undefined when the certificate is still good; otherwise OpenSSL's name for what is wrong with it. */
export function recheckPeer(leaf: X509Certificate, trust: TrustSet, now = Date.now()): string | undefined {
  // Walk up the chain the client sent until a certificate is signed by a CA we trust now.
  const path: X509Certificate[] = [];
  let cur: X509Certificate | undefined = leaf;
  let anchored = false;
  while (cur && path.length < 10) {
    if (Date.parse(cur.validTo) < now) return 'CERT_HAS_EXPIRED';
    path.push(cur);
    const c: X509Certificate = cur;
    if (trust.caCerts.some((ca) => signedBy(c, ca))) {
      anchored = true;
      break;
    }
    const up: X509Certificate | undefined = c.issuerCertificate;
    cur = up && up.fingerprint256 !== c.fingerprint256 && signedBy(c, up) ? up : undefined;
  }
  if (!anchored) return 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
  if (trust.crls) {
    for (const cert of path) {
      const why = revocation(cert, trust.crls, now);
      if (why) return why;
    }
  }
  return undefined;
}
