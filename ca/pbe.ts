/**
 * Password-based encryption for PKCS#8 and PKCS#12, done with Node's native crypto:
 * - PBES2 (RFC 8018) with PBKDF2-HMAC-SHA256 and AES-256-CBC — the modern default, which OpenSSL 3 reads
 *   without -legacy. forge can only write PBES2 with HMAC-SHA1 and a low default count.
 * - pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C) for `--legacy` files that Windows Server 2016
 *   imports; its key comes from the PKCS#12 KDF (RFC 7292 appendix B).
 */
import { createCipheriv, createDecipheriv, hash, pbkdf2Sync, randomBytes } from 'node:crypto';
import * as der from './der.js';

export const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA1: '1.2.840.113549.2.7',
  hmacWithSHA256: '1.2.840.113549.2.9',
  hmacWithSHA384: '1.2.840.113549.2.10',
  hmacWithSHA512: '1.2.840.113549.2.11',
  aes128cbc: '2.16.840.1.101.3.4.1.2',
  aes192cbc: '2.16.840.1.101.3.4.1.22',
  aes256cbc: '2.16.840.1.101.3.4.1.42',
  desEde3cbc: '1.2.840.113549.3.7',
  pbeSha1And3Des: '1.2.840.113549.1.12.1.3',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

const PRF_HASH: Record<string, string> = {
  [OID.hmacWithSHA1]: 'sha1',
  [OID.hmacWithSHA256]: 'sha256',
  [OID.hmacWithSHA384]: 'sha384',
  [OID.hmacWithSHA512]: 'sha512',
};
const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  [OID.aes128cbc]: { name: 'aes-128-cbc', keyLength: 16 },
  [OID.aes192cbc]: { name: 'aes-192-cbc', keyLength: 24 },
  [OID.aes256cbc]: { name: 'aes-256-cbc', keyLength: 32 },
  [OID.desEde3cbc]: { name: 'des-ede3-cbc', keyLength: 24 },
};

/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256. */
export const DEFAULT_ITERATIONS = 600_000;
/** What Windows and OpenSSL use for legacy PKCS#12 files. */
export const LEGACY_ITERATIONS = 2048;

export type Scheme = 'aes256' | 'legacy3des';

/** An algorithm this module does not implement (RC2, RC4, MD5-based PBES1, …). */
export class UnsupportedAlgorithmError extends Error {}
/** Decryption failed: almost always a wrong password. */
export class DecryptError extends Error {}

/** The BMPString password form (with a NUL terminator) the PKCS#12 KDF expects. */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** RFC 7292 appendix B.2. `id` 1 = key, 2 = IV, 3 = MAC key. */
export function pkcs12Kdf(password: string, salt: Buffer, id: 1 | 2 | 3, iterations: number, length: number, algorithm: 'sha1' | 'sha256'): Buffer {
  const u = algorithm === 'sha1' ? 20 : 32;
  const v = 64;
  const D = Buffer.alloc(v, id);
  const fill = (src: Buffer): Buffer => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
    return out;
  };
  const I = Buffer.concat([fill(salt), fill(bmpPassword(password))]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = hash(algorithm, Buffer.concat([D, I]), 'buffer');
    for (let r = 1; r < iterations; r++) A = hash(algorithm, A, 'buffer');
    blocks.push(A);
    const B = fill(A);
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block of I
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] ?? 0) + (B[k] ?? 0) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}

export function encrypt(data: Buffer, password: string, scheme: Scheme, iterations?: number): { algorithm: der.Asn1; ciphertext: Buffer } {
  if (scheme === 'legacy3des') {
    const salt = randomBytes(8);
    const iter = iterations ?? LEGACY_ITERATIONS;
    const key = pkcs12Kdf(password, salt, 1, iter, 24, 'sha1');
    const iv = pkcs12Kdf(password, salt, 2, iter, 8, 'sha1');
    const c = createCipheriv('des-ede3-cbc', key, iv);
    return {
      algorithm: der.seq([der.oid(OID.pbeSha1And3Des), der.seq([der.octets(salt), der.integer(iter)])]),
      ciphertext: Buffer.concat([c.update(data), c.final()]),
    };
  }
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const iter = iterations ?? DEFAULT_ITERATIONS;
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iter, 32, 'sha256');
  const c = createCipheriv('aes-256-cbc', key, iv);
  const algorithm = der.seq([
    der.oid(OID.pbes2),
    der.seq([
      der.seq([der.oid(OID.pbkdf2), der.seq([der.octets(salt), der.integer(iter), der.seq([der.oid(OID.hmacWithSHA256), der.nul()])])]),
      der.seq([der.oid(OID.aes256cbc), der.octets(iv)]),
    ]),
  ]);
  return { algorithm, ciphertext: Buffer.concat([c.update(data), c.final()]) };
}

/**
 * The iteration count an AlgorithmIdentifier asks for, read without deriving anything, so a reader can
 * refuse a costly file before doing any of the work. Throws for algorithms `decrypt` does not implement.
 */
export function kdfIterations(algorithm: der.Asn1 | undefined): number {
  const [idNode, params] = der.children(algorithm);
  const id = der.readOid(idNode);
  let iterNode: der.Asn1 | undefined;
  if (id === OID.pbeSha1And3Des) {
    iterNode = der.children(params)[1];
  } else if (id === OID.pbes2) {
    const [kdfId, kdfParams] = der.children(der.children(params)[0]);
    if (der.readOid(kdfId) !== OID.pbkdf2) throw new UnsupportedAlgorithmError(`key derivation ${der.readOid(kdfId)}`);
    iterNode = der.children(kdfParams)[1];
  } else {
    throw new UnsupportedAlgorithmError(`encryption algorithm ${id}`);
  }
  // A huge or negative INTEGER reads as a huge number (or Infinity), which every limit refuses.
  return iterNode ? der.integerNumber(iterNode) : 1;
}

/**
 * Decrypts with the algorithm an AlgorithmIdentifier names. `charge` is told the iteration count before
 * the key is derived, and may throw to refuse the work.
 */
export function decrypt(algorithm: der.Asn1, ciphertext: Buffer, password: string, charge: (iterations: number) => void = () => undefined): Buffer {
  const [idNode, params] = der.children(algorithm);
  const id = der.readOid(idNode);
  const iter = kdfIterations(algorithm);
  let cipherName: string;
  let key: Buffer;
  let iv: Buffer;
  if (id === OID.pbeSha1And3Des) {
    const salt = der.children(params)[0];
    charge(iter);
    key = pkcs12Kdf(password, der.bytesOf(salt), 1, iter, 24, 'sha1');
    iv = pkcs12Kdf(password, der.bytesOf(salt), 2, iter, 8, 'sha1');
    cipherName = 'des-ede3-cbc';
  } else {
    const [kdf, scheme] = der.children(params);
    const [salt, , ...rest] = der.children(der.children(kdf)[1]);
    const prfNode = rest.find((n) => Array.isArray(n.value));
    const prf = prfNode ? der.readOid(der.children(prfNode)[0]) : OID.hmacWithSHA1;
    const digest = prf ? PRF_HASH[prf] : undefined;
    const [encId, ivNode] = der.children(scheme);
    const cipher = CIPHERS[der.readOid(encId) ?? ''];
    if (!digest || !cipher) throw new UnsupportedAlgorithmError(`PBES2 with ${prf} / ${der.readOid(encId)}`);
    charge(iter);
    key = pbkdf2Sync(Buffer.from(password, 'utf8'), der.bytesOf(salt), iter, cipher.keyLength, digest);
    iv = der.bytesOf(ivNode);
    cipherName = cipher.name;
  }
  try {
    const d = createDecipheriv(cipherName, key, iv);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch (err) {
    throw new DecryptError('decryption failed', { cause: err });
  }
}
