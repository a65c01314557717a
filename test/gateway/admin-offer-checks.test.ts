import t from 'tap';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { createTestPki } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';
import { signWith } from '../fixtures/gateway-admin.js';
import { checkOfferedCertificate, checkOfferedCrl } from '../../gateway/admin/offer-checks.js';
import { buildCrl } from '../../ca/crl.js';

const pki = await createTestPki(await tempDir(t, 'outpost-offer-'));
const other = await createTestPki(await tempDir(t, 'outpost-offer-other-'), { cn: 'Other CA' });
const cas = [new X509Certificate(pki.caCertPem)];
const pending = generateKeyPairSync('rsa', { modulusLength: 2048 });
const code = (r: object) => ('code' in r ? (r as { code: string }).code : 'ok');

t.test('certificates', async (t) => {
  t.equal(code(checkOfferedCertificate(signWith(pki, pending.publicKey), pending.privateKey, cas)), 'ok');
  t.equal(code(checkOfferedCertificate(signWith(pki, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey), pending.privateKey, cas)), 'GATEWAY_CERT_KEY_MISMATCH');
  t.equal(code(checkOfferedCertificate(signWith(other, pending.publicKey), pending.privateKey, cas)), 'GATEWAY_CERT_UNTRUSTED');
  t.equal(code(checkOfferedCertificate(signWith(pki, pending.publicKey, { profile: 'connector', sans: [] }), pending.privateKey, cas)), 'GATEWAY_CERT_WRONG_PURPOSE');
  t.equal(code(checkOfferedCertificate(signWith(pki, pending.publicKey, { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) }), pending.privateKey, cas)), 'GATEWAY_CERT_EXPIRED');
  t.equal(code(checkOfferedCertificate(signWith(pki, pending.publicKey, { notBefore: new Date(Date.now() + 3600_000), notAfter: new Date(Date.now() + 7200_000) }), pending.privateKey, cas)), 'GATEWAY_CERT_EXPIRED', 'not valid yet');
  t.equal(code(checkOfferedCertificate('junk', pending.privateKey, cas)), 'GATEWAY_ADMIN_BAD_REQUEST');
});

t.test('CRLs', async (t) => {
  const crl = (n: number, signer = pki, nextUpdate = new Date(Date.now() + 3600_000)) =>
    buildCrl({ issuerCert: new X509Certificate(signer.caCertPem), issuerKey: createPrivateKey(signer.caKeyPem), crlNumber: n, thisUpdate: new Date(Date.now() - 60_000), nextUpdate, revoked: [] });
  t.equal(code(checkOfferedCrl(crl(5), cas, 4)), 'ok');
  t.equal(code(checkOfferedCrl(crl(5), cas, null)), 'ok', 'no CRL yet: any number');
  t.equal(code(checkOfferedCrl(crl(4), cas, 4)), 'GATEWAY_CRL_NOT_NEWER');
  t.equal(code(checkOfferedCrl(crl(3), cas, 4)), 'GATEWAY_CRL_NOT_NEWER');
  t.equal(code(checkOfferedCrl(crl(9, other), cas, 4)), 'GATEWAY_CRL_FOREIGN');
  t.equal(code(checkOfferedCrl(crl(9, pki, new Date(Date.now() - 1000)), cas, 4)), 'GATEWAY_CRL_INVALID');
  t.equal(code(checkOfferedCrl('junk', cas, 4)), 'GATEWAY_ADMIN_BAD_REQUEST');
});
