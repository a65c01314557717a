/**
 * Builds X.509 v3 certificates: the TBSCertificate is assembled on forge's ASN.1 (forge encodes names and
 * extensions), with the subject's SubjectPublicKeyInfo exactly as Node exports it, so RSA and EC keys take
 * the same path; Node's crypto (OpenSSL) signs its DER bytes. forge's own certificate builder handles RSA
 * keys only. Every certificate is checked with OpenSSL against its issuer's key before it is returned.
 */
import { X509Certificate, createHash, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import * as der from './der.js';
import { publicOf } from './keys.js';
import { profileExtensions, type Profile, type SubjectAltName } from './profiles.js';
import { algorithmIdentifier, signatureAlgorithmFor } from './signature.js';
import { subjectKeyIdOf } from './crl.js';

export interface Issuer {
  /** The issuing CA certificate (parsed once and reused for a batch). */
  cert: X509Certificate;
  key: KeyObject;
}

export interface CertificateSpec {
  serialHex: string;
  subject: { commonName: string; organization?: string | undefined };
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  profile: Profile;
  sans?: readonly SubjectAltName[] | undefined;
  /** Absent for a self-signed root: the subject's own key signs. */
  issuer?: Issuer | undefined;
  /** Required for a self-signed root. */
  signingKey?: KeyObject | undefined;
}

export interface BuiltCertificate {
  pem: string;
  der: Buffer;
  x509: X509Certificate;
}

/** The SubjectPublicKeyInfo of a key (either half), as Node encodes it. */
export function spkiOf(key: KeyObject): der.Asn1 {
  return der.decode(publicOf(key).export({ type: 'spki', format: 'der' }));
}

/**
 * SKI = SHA-1 of the subjectPublicKey BIT STRING's contents (RFC 5280 4.2.1.2 method 1): the RSAPublicKey
 * for RSA, the EC point for EC.
 */
export function subjectKeyIdFor(key: KeyObject): Buffer {
  const bits = der.bytesOf(der.children(spkiOf(key))[1]);
  return createHash('sha1').update(bits.subarray(1)).digest();
}

// distinguishedNameToAsn1 and certificateExtensionsToAsn1 are in forge's x509.js but missing from @types/node-forge.
const pki = forge.pki as unknown as {
  distinguishedNameToAsn1(dn: { attributes: forge.pki.CertificateField[] }): der.Asn1;
  certificateExtensionsToAsn1(exts: unknown[]): der.Asn1;
};

function subjectName(subject: CertificateSpec['subject']): der.Asn1 {
  const cert = forge.pki.createCertificate();
  const attrs: forge.pki.CertificateField[] = [];
  if (subject.organization) attrs.push({ shortName: 'O', value: subject.organization, valueTagClass: forge.asn1.Type.UTF8 as never });
  attrs.push({ shortName: 'CN', value: subject.commonName, valueTagClass: forge.asn1.Type.UTF8 as never });
  cert.setSubject(attrs); // fills in the OIDs
  return pki.distinguishedNameToAsn1(cert.subject);
}

/** forge encodes the extension values (setExtensions) and the [3] wrapper. */
function extensionsOf(descriptors: object[]): der.Asn1 {
  const cert = forge.pki.createCertificate();
  cert.setExtensions(descriptors);
  return pki.certificateExtensionsToAsn1(cert.extensions as unknown[]);
}

export function buildCertificate(spec: CertificateSpec): BuiltCertificate {
  const signer = spec.issuer?.key ?? spec.signingKey;
  if (!signer) throw new TypeError('a self-signed certificate needs signingKey');
  const alg = signatureAlgorithmFor(signer);
  const subject = subjectName(spec.subject);
  const ski = subjectKeyIdFor(spec.publicKey);
  // Without an issuer, AKI = the certificate's own SKI.
  const authorityKeyId = spec.issuer ? (subjectKeyIdOf(spec.issuer.cert) ?? subjectKeyIdFor(spec.issuer.cert.publicKey)) : ski;
  const extensions = extensionsOf([
    ...profileExtensions(spec.profile, spec.sans ?? [], publicOf(spec.publicKey).asymmetricKeyType),
    { name: 'subjectKeyIdentifier', value: der.octets(ski) },
    { name: 'authorityKeyIdentifier', keyIdentifier: der.toBinary(authorityKeyId) },
  ]);
  const tbs = der.seq([
    der.explicit(0, der.integer(2)), // v3
    der.integer(spec.serialHex),
    algorithmIdentifier(alg),
    spec.issuer ? der.subjectNameOf(spec.issuer.cert.raw) : subject,
    der.seq([der.time(spec.notBefore), der.time(spec.notAfter)]),
    subject,
    spkiOf(spec.publicKey),
    extensions,
  ]);
  const tbsDer = der.encode(tbs);
  const signature = sign(alg.hash, tbsDer, signer);
  const certDer = der.encode(der.seq([tbs, algorithmIdentifier(alg), der.bitString(signature)]));
  const x509 = new X509Certificate(certDer);
  // Belt and braces: OpenSSL must accept the signature before anyone else sees the certificate.
  if (!x509.verify(publicOf(signer))) throw new Error('internal: freshly signed certificate does not verify');
  return { pem: x509.toString(), der: certDer, x509 };
}
