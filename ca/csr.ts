/**
 * Certificate signing requests (PKCS#10): `ca request` makes one on the agent host (the key never
 * leaves it), `ca sign` reads one. forge assembles and parses the structure; the self-signature is made
 * and checked with Node's crypto over the exact CertificationRequestInfo bytes.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import * as der from './der.js';
import { toForgePublicKey } from './keys.js';
import { parseSans, type SubjectAltName } from './profiles.js';
import { toPem } from './pkcs8.js';

const HASH_BY_OID: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const getInfo = (forge.pki as unknown as { getCertificationRequestInfo(c: forge.pki.CertificateSigningRequest): forge.asn1.Asn1 }).getCertificationRequestInfo;

export function buildCsr(commonName: string, sans: readonly SubjectAltName[], key: KeyObject): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = toForgePublicKey(key);
  csr.setSubject([{ shortName: 'CN', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as never }]);
  if (sans.length > 0) {
    const altNames = sans.map((s) => (s.type === 'dns' ? { type: 2, value: s.value } : { type: 7, ip: s.value }));
    csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
  }
  csr.signatureOid = forge.pki.oids.sha256WithRSAEncryption as string;
  (csr as unknown as { siginfo: { algorithmOid: string } }).siginfo.algorithmOid = csr.signatureOid;
  const info = getInfo(csr);
  const signature = sign('sha256', der.encode(info), key);
  const full = der.seq([info, der.seq([der.oid(csr.signatureOid), der.nul()]), der.bitString(signature)]);
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
  if (publicKey.asymmetricKeyType !== 'rsa') throw new Error(`only RSA keys are supported, the request has ${publicKey.asymmetricKeyType}`);
  const hash = HASH_BY_OID[der.readOid(der.children(algId)[0]) ?? ''];
  if (!hash) throw new Error('unsupported signature algorithm');
  if (!verify(hash, der.encode(info), publicKey, der.bytesOf(sigNode).subarray(1))) throw new Error('the request\'s self-signature does not verify');
  // The signature is good: forge may now read the names.
  const csr = forge.pki.certificationRequestFromPem(pem);
  const cn = csr.subject.getField('CN') as { value?: string } | null;
  const ext = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name?: string; altNames?: { type: number; value?: string; ip?: string }[] }[] } | null;
  const altNames = ext?.extensions?.find((e) => e.name === 'subjectAltName')?.altNames ?? [];
  const entries = altNames.flatMap((a) => (a.type === 2 ? [`dns:${a.value}`] : a.type === 7 && a.ip ? [`ip:${a.ip}`] : []));
  const { sans, invalid } = parseSans(entries);
  if (invalid.length > 0) throw new Error(`request carries unusable SANs: ${invalid.join(', ')}`);
  return { commonName: cn?.value ?? '', sans, publicKey };
}
