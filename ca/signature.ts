/**
 * Which signature algorithm a CA key signs with, and its AlgorithmIdentifier. RSA keys sign
 * sha256WithRSAEncryption (parameters NULL, RFC 4055); EC keys sign ECDSA with the hash that matches the
 * curve's strength, and the parameters are absent (RFC 5758 3.2). Node's `sign` returns the DER
 * Ecdsa-Sig-Value X.509 wants.
 */
import type { KeyObject } from 'node:crypto';
import * as der from './der.js';

export interface SignatureAlgorithm {
  oid: string;
  hash: 'sha256' | 'sha384' | 'sha512';
}

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ECDSA_BY_CURVE: Readonly<Record<string, SignatureAlgorithm>> = {
  prime256v1: { oid: '1.2.840.10045.4.3.2', hash: 'sha256' },
  secp384r1: { oid: '1.2.840.10045.4.3.3', hash: 'sha384' },
  secp521r1: { oid: '1.2.840.10045.4.3.4', hash: 'sha512' },
};

/** Hashes of the signature algorithms a CSR or CRL may be signed with; SHA-1 only for RSA requests made by old tools. */
const HASH_BY_OID: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  [SHA256_WITH_RSA]: 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const RSA_OIDS: ReadonlySet<string> = new Set(['1.2.840.113549.1.1.5', SHA256_WITH_RSA, '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13']);

/** The algorithm `key` signs with; throws for a key type the CA cannot sign with. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return { oid: SHA256_WITH_RSA, hash: 'sha256' };
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const ecdsa = curve === undefined ? undefined : ECDSA_BY_CURVE[curve];
  if (!ecdsa) throw new TypeError(`cannot sign with a key of type ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` on ${curve}` : ''}`);
  return ecdsa;
}

export function algorithmIdentifier(alg: SignatureAlgorithm): der.Asn1 {
  return RSA_OIDS.has(alg.oid) ? der.seq([der.oid(alg.oid), der.nul()]) : der.seq([der.oid(alg.oid)]);
}

/**
 * The hash of a signature algorithm OID when it fits `key` (an ECDSA OID with an EC key, an RSA OID with an
 * RSA key), else undefined: a signature is only checked under the algorithm its signer's key can make.
 */
export function hashFor(oid: string | undefined, key: KeyObject): string | undefined {
  if (oid === undefined) return undefined;
  const hash = HASH_BY_OID[oid];
  if (!hash) return undefined;
  const rsa = RSA_OIDS.has(oid);
  return rsa === (key.asymmetricKeyType === 'rsa') && (rsa || key.asymmetricKeyType === 'ec') ? hash : undefined;
}
