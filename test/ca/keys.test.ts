import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { keyWeakness, MIN_RSA_BITS } from '../../ca/keys.js';

t.test('key strength: RSA from 2048 bits, EC on P-256/P-384/P-521, Ed25519/Ed448; everything else refused', async (t) => {
  for (const bits of [512, 1024, 2047]) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    t.equal(keyWeakness(publicKey), `an RSA-${bits} key; at least RSA-${MIN_RSA_BITS} is needed`, `fail: RSA-${bits}`);
    t.ok(keyWeakness(privateKey), `fail: RSA-${bits} private key`);
  }
  t.equal(keyWeakness(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey), undefined, 'ok: RSA-2048');
  t.equal(keyWeakness(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey), undefined, 'ok: RSA-PSS-2048');
  t.ok(keyWeakness(generateKeyPairSync('rsa-pss', { modulusLength: 1024 }).publicKey), 'fail: RSA-PSS-1024');
  for (const curve of ['P-256', 'P-384', 'P-521']) t.equal(keyWeakness(generateKeyPairSync('ec', { namedCurve: curve }).publicKey), undefined, `ok: EC ${curve}`);
  t.match(keyWeakness(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), /EC key on curve secp256k1/, 'fail: a curve outside the list');
  t.equal(keyWeakness(generateKeyPairSync('ed25519').publicKey), undefined, 'ok: Ed25519');
  t.match(keyWeakness(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey), /a key of type dsa/, 'fail: DSA');
  t.match(keyWeakness(generateKeyPairSync('x25519').publicKey), /a key of type x25519/, 'fail: a key-agreement key');
});
