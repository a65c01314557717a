/**
 * X.509 v2 CRLs (RFC 5280 section 5). forge cannot build CRLs, so the ASN.1 is assembled here and the
 * TBSCertList is signed natively, the same way as certificates.
 */
import { sign, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import * as der from './der.js';
import { REVOCATION_REASONS, type RevocationReason } from './reasons.js';
import { algorithmIdentifier, hashFor, signatureAlgorithmFor } from './signature.js';

const OID_AKI = '2.5.29.35';
const OID_SKI = '2.5.29.14';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_REASON = '2.5.29.21';

export { REVOCATION_REASONS, type RevocationReason } from './reasons.js';

export interface RevokedEntry {
  serialHex: string;
  revokedAt: Date;
  reason?: RevocationReason | undefined;
}

export interface CrlSpec {
  issuerCert: X509Certificate;
  issuerKey: KeyObject;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: readonly RevokedEntry[];
}

function extension(id: string, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return der.seq([der.oid(id), der.octets(der.encode(value))]);
}

/** The issuer's subjectKeyIdentifier, for the CRL's authorityKeyIdentifier (RFC 5280 5.2.1). */
export function subjectKeyIdOf(cert: X509Certificate): Buffer | undefined {
  const tbsFields = der.children(der.children(der.decode(cert.raw))[0]);
  const last = tbsFields.at(-1);
  // extensions are the TBSCertificate's [3] EXPLICIT field, when present
  const isExtensions = last?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && last.type === 3;
  for (const ext of isExtensions ? der.children(der.children(last)[0]) : []) {
    const kids = der.children(ext);
    if (der.readOid(kids[0]) === OID_SKI) return der.bytesOf(der.decode(der.bytesOf(kids.at(-1))));
  }
  return undefined;
}

export function buildCrl(spec: CrlSpec): string {
  const entries = spec.revoked.map((r) => {
    const fields = [der.integer(r.serialHex), der.time(r.revokedAt)];
    if (r.reason !== undefined && r.reason !== 'unspecified') {
      const reason = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.ENUMERATED, false, String.fromCharCode(REVOCATION_REASONS[r.reason]));
      fields.push(der.seq([extension(OID_REASON, reason)]));
    }
    return der.seq(fields);
  });
  const keyId = subjectKeyIdOf(spec.issuerCert);
  const crlExtensions = [extension(OID_CRL_NUMBER, der.integer(spec.crlNumber))];
  if (keyId) {
    crlExtensions.unshift(
      extension(OID_AKI, der.seq([forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, false, der.toBinary(keyId))])),
    );
  }
  const alg = signatureAlgorithmFor(spec.issuerKey);
  const tbs = der.seq([
    der.integer(1), // v2
    algorithmIdentifier(alg),
    der.subjectNameOf(spec.issuerCert.raw),
    der.time(spec.thisUpdate),
    der.time(spec.nextUpdate),
    // An empty revokedCertificates must be omitted, not encoded as an empty SEQUENCE.
    ...(entries.length > 0 ? [der.seq(entries)] : []),
    der.explicit(0, der.seq(crlExtensions)),
  ]);
  const tbsDer = der.encode(tbs);
  const signature = sign(alg.hash, tbsDer, spec.issuerKey);
  const crl = der.seq([tbs, algorithmIdentifier(alg), der.bitString(signature)]);
  const b64 = der.encode(crl).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}

export interface ParsedCrl {
  crlNumber: number | undefined;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  revoked: RevokedEntry[];
}

function pemBody(pem: string, label: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (!m) throw new TypeError(`no ${label} block`);
  return Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
}

/**
 * Parses a CRL and checks its signature against `issuerCert` natively. Throws when the signature does not
 * verify: revocation state is only ever taken from a CRL the CA itself signed.
 */
export function parseCrl(input: string | Uint8Array, issuerCert: X509Certificate): ParsedCrl {
  const bytes = typeof input === 'string' ? pemBody(input, 'X509 CRL') : Buffer.from(input);
  const [tbs, algId, sigNode] = der.children(der.decode(bytes));
  if (!tbs || !sigNode) throw new TypeError('not a CRL');
  const signature = der.bytesOf(sigNode).subarray(1);
  const hash = hashFor(der.readOid(der.children(algId)[0]), issuerCert.publicKey);
  if (!hash) throw new TypeError('CRL signature algorithm does not match the root\'s key');
  if (!verify(hash, der.encode(tbs), issuerCert.publicKey, signature)) {
    throw new TypeError('CRL signature does not verify against the root');
  }
  const fields = der.children(tbs);
  let i = fields[0]?.type === forge.asn1.Type.INTEGER ? 1 : 0;
  i += 2; // signature algorithm, issuer
  const thisUpdate = der.readTime(fields[i++] as der.Asn1);
  let nextUpdate: Date | undefined;
  const maybeNext = fields[i];
  if (maybeNext && (maybeNext.type === forge.asn1.Type.UTCTIME || maybeNext.type === forge.asn1.Type.GENERALIZEDTIME)) {
    nextUpdate = der.readTime(maybeNext);
    i++;
  }
  const revoked: RevokedEntry[] = [];
  let crlNumber: number | undefined;
  for (const node of fields.slice(i)) {
    if (node.tagClass === forge.asn1.Class.UNIVERSAL) {
      for (const entry of der.children(node)) {
        const [serial, date, exts] = der.children(entry);
        let reason: RevocationReason | undefined;
        for (const ext of der.children(exts)) {
          const [id, value] = der.children(ext);
          if (der.readOid(id) === OID_REASON) {
            const code = der.bytesOf(der.decode(der.bytesOf(value)))[0];
            reason = (Object.keys(REVOCATION_REASONS) as RevocationReason[]).find((k) => REVOCATION_REASONS[k] === code);
          }
        }
        revoked.push({ serialHex: der.integerHex(serial as der.Asn1), revokedAt: der.readTime(date as der.Asn1), reason });
      }
    } else {
      for (const ext of der.children(der.children(node)[0])) {
        const kids = der.children(ext);
        if (der.readOid(kids[0]) === OID_CRL_NUMBER) crlNumber = der.integerNumber(der.decode(der.bytesOf(kids.at(-1))));
      }
    }
  }
  return { crlNumber, thisUpdate, nextUpdate, revoked };
}
