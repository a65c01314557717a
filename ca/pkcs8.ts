/**
 * Encrypted PKCS#8 private keys (EncryptedPrivateKeyInfo, RFC 5958) with PBES2/PBKDF2-SHA256/AES-256 and a
 * high iteration count: the CA root key at rest and the keys in `ca export --out F.pem`. Node's own
 * export would use 2,048 iterations; here the count is ours to choose. Reading is OpenSSL's job.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import * as der from './der.js';
import { encrypt, type Scheme } from './pbe.js';

export function encryptedPrivateKeyInfo(key: KeyObject, password: string, scheme: Scheme = 'aes256', iterations?: number): Buffer {
  const plain = key.export({ type: 'pkcs8', format: 'der' });
  const { algorithm, ciphertext } = encrypt(plain, password, scheme, iterations);
  return der.encode(der.seq([algorithm, der.octets(ciphertext)]));
}

export function toPem(label: string, bytes: Buffer): string {
  const b64 = bytes.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function encryptPrivateKeyPem(key: KeyObject, password: string, iterations?: number): string {
  return toPem('ENCRYPTED PRIVATE KEY', encryptedPrivateKeyInfo(key, password, 'aes256', iterations));
}

/** Thrown when the passphrase does not open the key (OpenSSL reports a bad decrypt). */
export class WrongPassphraseError extends Error {}

export function decryptPrivateKeyPem(pem: string | Buffer, passphrase: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    throw new WrongPassphraseError('the passphrase does not open this key', { cause: err });
  }
}
