/**
 * Rotation of a gateway that serves an EC P-256 certificate: POST /v1/gateway/csr makes an EC P-256 key
 * (the serving key's type, so clients see no change of algorithm), and the certificate signed for it is
 * installed and served.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createBed, startGatewayFront } from '../fixtures/gateway.js';
import { adminCall, adminRule, csrKey, servedCertificate, signWith } from '../fixtures/gateway-admin.js';

t.test('ok: an EC gateway is rotated to a new EC key of the same curve', async (t) => {
  const bed = await createBed(t, { key: { type: 'ec', name: 'ec-p256' } });
  (bed.config.access as unknown[]).push(adminRule);
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  const admin = (method: string, path: string, body?: string) =>
    adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method, path, ...(body !== undefined ? { body } : {}) });

  const facts = await admin('GET', '/v1/gateway/tls');
  t.equal((facts.json.certificate as { keyType: string }).keyType, 'ec-p256');
  const csr = await admin('POST', '/v1/gateway/csr');
  t.equal(csr.status, 200, csr.body);
  t.equal(csr.json.keyType, 'ec-p256');
  const pub = csrKey(csr.json.csr as string);
  t.equal(pub.asymmetricKeyType, 'ec');
  t.equal(pub.asymmetricKeyDetails?.namedCurve, 'prime256v1');

  const good = signWith(bed.pki, pub);
  const installed = await admin('PUT', '/v1/gateway/certificate', good);
  t.equal(installed.status, 200, installed.body);
  const served = await servedCertificate(front.port, bed.pki.caCertPem, bed.certs.master);
  t.equal(served.serialNumber, new X509Certificate(good).serialNumber, 'the new EC certificate is served');
  t.ok(served.publicKey.equals(pub));
});
