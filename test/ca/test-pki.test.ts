import t, { type Test } from 'tap';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createTestPki, type TestPki, type Issued } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';
import { openssl } from '../fixtures/openssl.js';

/**
 * Mutual-TLS handshake with Node's tls: returns what the server concluded about the client certificate.
 */
async function handshake(t: Test, pki: TestPki, server: Issued, client: Issued, crlPem?: string): Promise<{ authorized: boolean; error?: string; peerThumbprint?: string }> {
  const srv = tls.createServer({
    key: server.keyPem,
    cert: server.certPem,
    ca: pki.caCertPem,
    ...(crlPem ? { crl: crlPem } : {}),
    requestCert: true,
    // Decide below so the test sees why a client was refused.
    rejectUnauthorized: false,
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const result = new Promise<{ authorized: boolean; error?: string; peerThumbprint?: string }>((resolve) => {
      srv.once('secureConnection', (sock: tls.TLSSocket) => {
        const peer = sock.getPeerX509Certificate();
        resolve({
          authorized: sock.authorized,
          ...(sock.authorizationError ? { error: String((sock.authorizationError as NodeJS.ErrnoException).code ?? sock.authorizationError) } : {}),
          ...(peer ? { peerThumbprint: peer.fingerprint256.replace(/:/g, '') } : {}),
        });
        sock.end();
      });
    });
    const port = (srv.address() as AddressInfo).port;
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.caCertPem, cert: client.certPem, key: client.keyPem });
    sock.on('error', () => undefined);
    await once(sock, 'secureConnect');
    t.ok(sock.authorized, 'client trusts the listener certificate for localhost');
    const out = await result;
    sock.destroy();
    return out;
  } finally {
    srv.close();
  }
}

t.test('test PKI issues certificates that OpenSSL and Node tls accept', async (t) => {
  const dir = await tempDir(t);
  const pki = await createTestPki(dir);
  const listener = await pki.issueListener({ name: 'agent-1', sans: ['dns:localhost', 'ip:127.0.0.1'] });
  const connector = await pki.issueConnector({ name: 'master' });

  t.match(pki.caThumbprint, /^[0-9A-F]{64}$/);
  t.equal(listener.thumbprint, new X509Certificate(listener.certPem).fingerprint256.replace(/:/g, ''));
  t.equal(listener.serial, new X509Certificate(listener.certPem).serialNumber);
  t.equal(listener.subject, 'CN=agent-1');
  t.ok(listener.serial.length >= 16, 'serial has at least 64 bits');
  t.equal((await stat(listener.keyPath)).mode & 0o777, 0o600, 'key file 0600');
  t.equal((await stat(connector.certPath)).mode & 0o777, 0o600);

  const ca = new X509Certificate(pki.caCertPem);
  t.ok(ca.ca, 'root is CA:TRUE');
  t.ok(new X509Certificate(listener.certPem).checkIssued(ca));
  t.same(new X509Certificate(listener.certPem).keyUsage, ['1.3.6.1.5.5.7.3.1'], 'listener EKU serverAuth only');
  t.same(new X509Certificate(connector.certPem).keyUsage, ['1.3.6.1.5.5.7.3.2'], 'connector EKU clientAuth only');
  t.equal(new X509Certificate(listener.certPem).subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');

  const server = await openssl(['verify', '-CAfile', pki.caCertPath, '-purpose', 'sslserver', listener.certPath]);
  t.equal(server.code, 0, `openssl verify -purpose sslserver: ${server.stdout}${server.stderr}`);
  const client = await openssl(['verify', '-CAfile', pki.caCertPath, '-purpose', 'sslclient', connector.certPath]);
  t.equal(client.code, 0, 'openssl verify -purpose sslclient');
  const wrong = await openssl(['verify', '-CAfile', pki.caCertPath, '-purpose', 'sslserver', connector.certPath]);
  t.not(wrong.code, 0, 'a connector certificate is not a TLS server certificate');
  const rootText = await openssl(['x509', '-in', pki.caCertPath, '-noout', '-text']);
  t.match(rootText.stdout, /CA:TRUE/);
  t.match(rootText.stdout, /Certificate Sign, CRL Sign/);
  t.match(rootText.stdout, /Authority Key Identifier/);

  const result = await handshake(t, pki, listener, connector);
  t.equal(result.authorized, true, 'server accepts the connector certificate');
  t.equal(result.peerThumbprint, connector.thumbprint, 'peer thumbprint matches Issued.thumbprint');
});

t.test('CRL from the test PKI is verified by openssl and honoured by openssl verify and Node tls', async (t) => {
  const dir = await tempDir(t);
  const pki = await createTestPki(dir);
  const listener = await pki.issueListener({ name: 'agent-1' });
  const good = await pki.issueConnector({ name: 'good' });
  const bad = await pki.issueConnector({ name: 'bad' });
  const emptyCrl = await pki.writeCrl();
  const emptyCheck = await openssl(['crl', '-in', emptyCrl, '-CAfile', pki.caCertPath, '-noout', '-verify']);
  t.equal(emptyCheck.code, 0, 'an empty CRL verifies');
  t.match(emptyCheck.stderr, /verify OK/);

  pki.revoke(bad.thumbprint.replace(/(..)/g, '$1:').slice(0, -1).toLowerCase());
  const crlPath = await pki.writeCrl();
  const crlCheck = await openssl(['crl', '-in', crlPath, '-CAfile', pki.caCertPath, '-noout', '-verify', '-text']);
  t.equal(crlCheck.code, 0);
  t.match(crlCheck.stdout, /Version 2/);
  t.match(crlCheck.stdout, /Next Update/);
  t.match(crlCheck.stdout, new RegExp(`Serial Number: ${bad.serial}`));
  t.match(crlCheck.stdout, /CRL Number:\s+2/);

  const revoked = await openssl(['verify', '-crl_check', '-CAfile', pki.caCertPath, '-CRLfile', crlPath, bad.certPath]);
  t.not(revoked.code, 0);
  t.match(revoked.stdout + revoked.stderr, /certificate revoked/);
  const fine = await openssl(['verify', '-crl_check', '-CAfile', pki.caCertPath, '-CRLfile', crlPath, good.certPath]);
  t.equal(fine.code, 0);

  const { readFile } = await import('node:fs/promises');
  const crlPem = await readFile(crlPath, 'utf8');
  t.same(await handshake(t, pki, listener, bad, crlPem).then((r) => [r.authorized, r.error]), [false, 'CERT_REVOKED']);
  t.same(await handshake(t, pki, listener, good, crlPem).then((r) => r.authorized), true);
});

t.test('expired client certificates and certificates from an unrelated CA are refused', async (t) => {
  const dir = await tempDir(t);
  const [pki, other] = await Promise.all([createTestPki(dir), createTestPki(dir, { cn: 'Unrelated CA' })]);
  const listener = await pki.issueListener({ name: 'agent-1' });
  const day = 86_400_000;
  const expired = await pki.issueConnector({ name: 'old', notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) });
  const foreign = await other.issueConnector({ name: 'stranger' });
  t.same(await handshake(t, pki, listener, expired).then((r) => [r.authorized, r.error]), [false, 'CERT_HAS_EXPIRED']);
  const f = await handshake(t, pki, listener, foreign);
  t.equal(f.authorized, false);
  t.match(f.error, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  t.not(other.caThumbprint, pki.caThumbprint);
  t.throws(() => pki.revoke('not-a-cert'), /unknown certificate/);
});
