import t from 'tap';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as der from '../../ca/der.js';
import { algorithmIdentifier, hashFor, signatureAlgorithmFor } from '../../ca/signature.js';
import { buildCertificate } from '../../ca/x509.js';
import { buildCrl, parseCrl } from '../../ca/crl.js';
import { randomSerialHex } from '../../ca/serial.js';

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const RSA_SHA256 = '1.2.840.113549.1.1.11';

t.test('the algorithm follows the signing key: RSA → sha256WithRSA (NULL), P-256/384/521 → ECDSA without parameters', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  t.same(signatureAlgorithmFor(rsa), { oid: RSA_SHA256, hash: 'sha256' });
  t.equal(der.encode(algorithmIdentifier(signatureAlgorithmFor(rsa))).toString('hex'), '300d06092a864886f70d01010b0500');
  for (const [curve, oid, hash] of [['P-256', ECDSA_SHA256, 'sha256'], ['P-384', '1.2.840.10045.4.3.3', 'sha384'], ['P-521', '1.2.840.10045.4.3.4', 'sha512']] as const) {
    const alg = signatureAlgorithmFor(generateKeyPairSync('ec', { namedCurve: curve }).privateKey);
    t.same(alg, { oid, hash }, curve);
    t.equal(der.children(algorithmIdentifier(alg)).length, 1, `${curve}: no parameters (RFC 5758)`);
  }
  t.throws(() => signatureAlgorithmFor(generateKeyPairSync('ed25519').privateKey), /cannot sign with a key of type ed25519/);
  t.throws(() => signatureAlgorithmFor(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey), /on secp256k1/);
});

t.test('fail: a signature is only checked under an algorithm the signer\'s key makes', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  t.equal(hashFor(RSA_SHA256, rsa), 'sha256');
  t.equal(hashFor(ECDSA_SHA256, ec), 'sha256');
  t.equal(hashFor(ECDSA_SHA256, rsa), undefined, 'ECDSA OID with an RSA key');
  t.equal(hashFor(RSA_SHA256, ec), undefined, 'RSA OID with an EC key');
  t.equal(hashFor('1.3.101.112', generateKeyPairSync('ed25519').publicKey), undefined, 'Ed25519 is not a CSR/CRL algorithm here');
  t.equal(hashFor(undefined, ec), undefined);
});

t.test('ok: a CRL signed by an EC root parses back; fail: the same CRL relabelled as RSA-signed', async (t) => {
  const root = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const now = Date.now();
  const cert = buildCertificate({ serialHex: randomSerialHex(), subject: { commonName: 'EC root' }, publicKey: root.publicKey, signingKey: root.privateKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000), profile: 'root' });
  const issuerCert = new X509Certificate(cert.pem);
  const pem = buildCrl({ issuerCert, issuerKey: root.privateKey, crlNumber: 3, thisUpdate: new Date(now), nextUpdate: new Date(now + 86_400_000), revoked: [{ serialHex: '4A', revokedAt: new Date(now), reason: 'superseded' }] });
  const parsed = parseCrl(pem, issuerCert);
  t.equal(parsed.crlNumber, 3);
  t.same(parsed.revoked.map((r) => [r.serialHex, r.reason]), [['4A', 'superseded']]);
  const bytes = Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
  const [tbs, , sig] = der.children(der.decode(bytes));
  const relabelled = der.encode(der.seq([tbs as der.Asn1, der.seq([der.oid(RSA_SHA256), der.nul()]), sig as der.Asn1]));
  t.throws(() => parseCrl(relabelled, issuerCert), /does not match the root's key/);
});
