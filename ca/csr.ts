/**
 * Certificate signing requests (PKCS#10): `ca request` makes one on the agent host (the key never
 * leaves it), `ca sign` reads one. forge assembles and parses the structure; the self-signature is made
 * and checked with Node's crypto over the exact CertificationRequestInfo bytes.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import * as der from './der.js';
import { spkiOf } from './x509.js';
import { algorithmIdentifier, hashFor, signatureAlgorithmFor } from './signature.js';
import { parseSans, type SubjectAltName } from './profiles.js';
import { toPem } from './pkcs8.js';

const getInfo = (forge.pki as unknown as { getCertificationRequestInfo(c: forge.pki.CertificateSigningRequest): forge.asn1.Asn1 }).getCertificationRequestInfo;

const PLACEHOLDER_KEY = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3', 10), new forge.jsbn.BigInteger('3', 10));

export function buildCsr(commonName: string, sans: readonly SubjectAltName[], key: KeyObject): string {
  const csr = forge.pki.createCertificationRequest();
  csr.setSubject([{ shortName: 'CN', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as never }]);
  if (sans.length > 0) {
    const altNames = sans.map((s) => (s.type === 'dns' ? { type: 2, value: s.value } : { type: 7, ip: s.value }));
    csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
  }
  // forge encodes the subject and attributes; the key goes in as Node's SubjectPublicKeyInfo (RSA or EC).
  // forge's encoder needs an RSA key object, so it gets a placeholder that is replaced right away.
  csr.publicKey = PLACEHOLDER_KEY;
  const info = getInfo(csr);
  (info.value as der.Asn1[])[2] = spkiOf(key);
  const alg = signatureAlgorithmFor(key);
  const signature = sign(alg.hash, der.encode(info), key);
  const full = der.seq([info, algorithmIdentifier(alg), der.bitString(signature)]);
  return toPem('CERTIFICATE REQUEST', der.encode(full));
}

export interface ParsedCsr {
  commonName: string;
  sans: SubjectAltName[];
  publicKey: KeyObject;
}

/** Parses and verifies a CSR; throws an Error whose message says what is wrong. */
export function parseCsr(pem: string): ParsedCsr {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new Error('no CERTIFICATE REQUEST block');
  const bytes = Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
  const [info, algId, sigNode] = der.children(der.decode(bytes));
  if (!info || !algId || !sigNode) throw new Error('not a PKCS#10 request');
  const spki = der.children(info)[2];
  if (!spki) throw new Error('request has no public key');
  const publicKey = createPublicKey({ key: der.encode(spki), format: 'der', type: 'spki' });
  const type = publicKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') throw new Error(`only RSA and EC keys are supported, the request has ${type ?? 'an unknown key'}`);
  const hash = hashFor(der.readOid(der.children(algId)[0]), publicKey);
  if (!hash) throw new Error(`unsupported signature algorithm for an ${type.toUpperCase()} key`);
  if (!verify(hash, der.encode(info), publicKey, der.bytesOf(sigNode).subarray(1))) throw new Error('the request\'s self-signature does not verify');
  // The signature is good: read the names straight from the verified structure.
  const [, subject, , attributes] = der.children(info);
  const entries = requestedSans(attributes);
  const { sans, invalid } = parseSans(entries);
  if (invalid.length > 0) throw new Error(`request carries unusable SANs: ${invalid.join(', ')}`);
  return { commonName: commonNameOf(subject), sans, publicKey };
}

// forge.util.bytesToIP exists (util.js) but is missing from @types/node-forge.
const bytesToIP = (forge.util as unknown as { bytesToIP(bytes: string): string | null }).bytesToIP;
const OID_CN = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SAN = '2.5.29.17';

/** The last CN in a Name (RDNSequence); empty when there is none. */
function commonNameOf(name: der.Asn1 | undefined): string {
  let cn = '';
  for (const rdn of der.children(name)) {
    for (const atv of der.children(rdn)) {
      const [type, value] = der.children(atv);
      // UTF8String values are UTF-8 bytes; Printable/IA5 are ASCII, which UTF-8 decoding leaves alone.
      if (der.readOid(type) === OID_CN) cn = der.bytesOf(value).toString('utf8');
    }
  }
  return cn;
}

/** `dns:`/`ip:` entries of the subjectAltName in the request's extensionRequest attribute. */
function requestedSans(attributes: der.Asn1 | undefined): string[] {
  const out: string[] = [];
  for (const attr of der.children(attributes)) {
    const [type, values] = der.children(attr);
    if (der.readOid(type) !== OID_EXTENSION_REQUEST) continue;
    for (const ext of der.children(der.children(values)[0])) {
      const kids = der.children(ext);
      if (der.readOid(kids[0]) !== OID_SAN) continue;
      for (const gn of der.children(der.decode(der.bytesOf(kids.at(-1))))) {
        if (gn.type === 2) out.push(`dns:${der.bytesOf(gn).toString('latin1')}`);
        else if (gn.type === 7) out.push(`ip:${bytesToIP(gn.value as string) ?? ''}`);
        else out.push(`unsupported-name-type-${gn.type}:`);
      }
    }
  }
  return out;
}
