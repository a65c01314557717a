/**
 * Builds X.509 v3 certificates: forge assembles the TBSCertificate, Node's crypto (OpenSSL) signs its DER
 * bytes. forge's pure-JS RSA signature costs ~30 ms a certificate; the native one well under 1 ms.
 * Every certificate is checked with OpenSSL against its issuer's key before it is returned.
 */
import { X509Certificate, createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { profileExtensions, type Profile, type SubjectAltName } from './profiles.js';

const SHA256_WITH_RSA = forge.pki.oids.sha256WithRSAEncryption as string;
// Present in forge's x509.js since 0.7 but missing from @types/node-forge.
const getTBSCertificate = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate;

export interface Issuer {
  /** The issuing CA certificate (forge form, parsed once and reused for a batch). */
  cert: forge.pki.Certificate;
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

/** forge needs its own public-key object to encode SubjectPublicKeyInfo and compute the SKI. */
export function toForgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'rsa') throw new TypeError(`only RSA keys are supported, got ${pub.asymmetricKeyType}`);
  const der = pub.export({ type: 'spki', format: 'der' });
  return forge.pki.publicKeyFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))) as forge.pki.rsa.PublicKey;
}

export function parseForgeCertificate(pem: string): forge.pki.Certificate {
  return forge.pki.certificateFromPem(pem);
}

function subjectAttrs(subject: CertificateSpec['subject']): forge.pki.CertificateField[] {
  const attrs: forge.pki.CertificateField[] = [];
  if (subject.organization) attrs.push({ shortName: 'O', value: subject.organization, valueTagClass: forge.asn1.Type.UTF8 as never });
  attrs.push({ shortName: 'CN', value: subject.commonName, valueTagClass: forge.asn1.Type.UTF8 as never });
  return attrs;
}

/** SKI of the issuer as raw bytes (forge binary string), read from its extension or computed. */
function keyIdOf(cert: forge.pki.Certificate): string {
  const ext = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  if (ext?.subjectKeyIdentifier) return forge.util.hexToBytes(ext.subjectKeyIdentifier);
  return cert.generateSubjectKeyIdentifier().getBytes();
}

export function buildCertificate(spec: CertificateSpec): BuiltCertificate {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = spec.serialHex.toLowerCase();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.publicKey = toForgePublicKey(spec.publicKey);
  const attrs = subjectAttrs(spec.subject);
  cert.setSubject(attrs);
  const signer = spec.issuer?.key ?? spec.signingKey;
  if (!signer) throw new TypeError('a self-signed certificate needs signingKey');
  if (spec.issuer) cert.setIssuer(spec.issuer.cert.subject.attributes);
  else cert.setIssuer(attrs);
  // SKI = SHA-1 of the RSAPublicKey (RFC 5280 4.2.1.2 method 1), computed natively: forge's JS SHA-1
  // is a visible share of the signing time. Without an issuer, AKI = the certificate's own SKI.
  const ski = createHash('sha1').update(spec.publicKey.type === 'private' ? createPublicKey(spec.publicKey).export({ type: 'pkcs1', format: 'der' }) : spec.publicKey.export({ type: 'pkcs1', format: 'der' })).digest();
  const authorityKeyId = spec.issuer ? keyIdOf(spec.issuer.cert) : ski.toString('binary');
  cert.setExtensions([
    ...profileExtensions(spec.profile, spec.sans ?? []),
    { name: 'subjectKeyIdentifier', value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, ski.toString('binary')) },
    { name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId },
  ]);
  cert.siginfo.algorithmOid = SHA256_WITH_RSA;
  cert.signatureOid = SHA256_WITH_RSA;
  const tbs = getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.tbsCertificate = tbs;
  cert.signature = sign('sha256', tbsDer, signer).toString('binary');
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const x509 = new X509Certificate(der);
  // Belt and braces: OpenSSL must accept the signature before anyone else sees the certificate.
  if (!x509.verify(createPublicKey(signer))) throw new Error('internal: freshly signed certificate does not verify');
  return { pem: x509.toString(), der, x509 };
}
