import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { recheckPeer } from '../../gateway/peer-recheck.js';
import { certIssuer, parseCrls } from '../../gateway/crl-info.js';
import { createTestPki } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';

const pki = await createTestPki(await tempDir(t, 'outpost-recheck-'));
const other = await createTestPki(await tempDir(t, 'outpost-recheck-other-'), { cn: 'Some Other CA' });
const [good, revoked, expired, foreign] = await Promise.all([
  pki.issueConnector({ name: 'good' }),
  pki.issueConnector({ name: 'revoked' }),
  pki.issueConnector({ name: 'expired', notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) }),
  other.issueConnector({ name: 'good' }),
]);
pki.revoke(revoked.thumbprint);
const crls = parseCrls(await readFile(await pki.writeCrl()));
const otherCrls = parseCrls(await readFile(await other.writeCrl()));
const ca = new X509Certificate(pki.caCertPem);
const x = (pem: string) => new X509Certificate(pem);

t.test('ok: a valid certificate of a trusted CA, not revoked', async (t) => {
  t.equal(recheckPeer(x(good.certPem), { caCerts: [ca], crls }), undefined);
  t.equal(recheckPeer(x(good.certPem), { caCerts: [ca], crls: undefined }), undefined, 'without a CRL');
});

t.test('fail: the codes OpenSSL would give a new handshake', async (t) => {
  t.equal(recheckPeer(x(revoked.certPem), { caCerts: [ca], crls }), 'CERT_REVOKED');
  t.equal(recheckPeer(x(revoked.certPem), { caCerts: [ca], crls: undefined }), undefined, 'no CRL configured: not checked');
  t.equal(recheckPeer(x(expired.certPem), { caCerts: [ca], crls }), 'CERT_HAS_EXPIRED');
  t.equal(recheckPeer(x(foreign.certPem), { caCerts: [ca], crls }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'another CA');
  t.equal(recheckPeer(x(good.certPem), { caCerts: [new X509Certificate(other.caCertPem)], crls }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'its CA left the CA set');
  t.equal(recheckPeer(x(good.certPem), { caCerts: [ca], crls: otherCrls }), 'UNABLE_TO_GET_CRL', 'a CRL only for another CA');
  t.equal(recheckPeer(x(good.certPem), { caCerts: [ca], crls }, Date.parse(crls[0]!.nextUpdate!.toISOString()) + 1000), 'CRL_HAS_EXPIRED');
});

t.test('ok: the CRL walk reads issuer and serials as the certificate spells them', async (t) => {
  t.equal(crls.length, 1);
  t.equal(crls[0]!.issuer, certIssuer(x(good.certPem).raw), 'CRL issuer = certificate issuer, byte for byte');
  t.equal(crls[0]!.revoked.size, 1);
  t.ok(x(revoked.certPem).serialNumber.toUpperCase().endsWith([...crls[0]!.revoked][0]!));
});
