/**
 * The gateway's admin surface against a real gateway process and real certificates: who may call it,
 * the CSR → sign → install sequence with the key made on the gateway, every refusal of a certificate or
 * CRL that must not be installed, the setSecureContext swap under an open keep-alive connection, the
 * previous pair kept until the new one served a handshake, and a restart after an interrupted rotation.
 */
import t from 'tap';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { stat, readFile, writeFile } from 'node:fs/promises';
import { createBed, startGatewayFront, MASTER_IP, MONITOR_IP, auditLine } from '../fixtures/gateway.js';
import { createTestPki } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';
import { waitFor } from '../fixtures/wait.js';
import { adminCall, adminRule, csrKey, errorCode, servedCertificate, signWith } from '../fixtures/gateway-admin.js';
import { buildCrl } from '../../ca/crl.js';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';

const bed = await createBed(t);
(bed.config.access as unknown[]).push(adminRule);
await bed.writeConfig();
const tlsConf = bed.config.tls as { cert: string; key: string; crl: string };

t.test('ok: an admin client reads the TLS facts; fail: anyone else is refused and nothing reaches the agent', async (t) => {
  const front = await startGatewayFront(t, bed);
  const ok = await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method: 'GET', path: '/v1/gateway/tls' });
  t.equal(ok.status, 200, ok.body);
  const cert = ok.json.certificate as Record<string, unknown>;
  t.equal(cert.serial, bed.certs.listener.serial.toUpperCase());
  t.equal(cert.keyType, 'rsa-2048');
  t.same(cert.sans, ['dns:localhost', 'ip:127.0.0.1']);
  t.equal((ok.json.crl as { crlNumber: number }).crlNumber, 1);
  t.equal(ok.json.pending, null);
  const seen = bed.upstream.requests.length;
  const monitor = await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.monitor, from: MONITOR_IP, method: 'GET', path: '/v1/gateway/tls' });
  t.equal(monitor.status, 403);
  t.equal(errorCode(monitor), 'GATEWAY_ADMIN_NOT_ALLOWED');
  const intruder = await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.intruder, method: 'POST', path: '/v1/gateway/csr' });
  t.equal(errorCode(intruder), 'GATEWAY_ADMIN_NOT_ALLOWED', 'a valid certificate of the same CA but not pinned');
  const unknown = await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method: 'GET', path: '/v1/gateway/keys' });
  t.equal(errorCode(unknown), 'GATEWAY_ADMIN_ROUTE_UNKNOWN');
  t.equal(bed.upstream.requests.length, seen, 'no admin request was forwarded to the agent');
  const jobs = await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method: 'GET', path: '/echo' });
  t.equal(jobs.status, 200, 'the master still reaches the agent through its own rule');
  t.ok(await auditLine(front, (l) => l.path === '/v1/gateway/tls' && l.subject === 'CN=monitor' && l.reason === 'ADMIN_NOT_ALLOWED'), 'refusal audited with the caller');
  t.ok(await auditLine(front, (l) => l.path === '/v1/gateway/tls' && l.subject === 'CN=master' && l.decision === 'allow' && l.rule === 'admin'), 'admin call audited with the caller');
});

t.test('ok: CSR → sign → install swaps the certificate under an open connection; refusals first', async (t) => {
  const front = await startGatewayFront(t, bed);
  const admin = (method: string, path: string, body?: string) =>
    adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method, path, ...(body !== undefined ? { body } : {}) });

  const early = await admin('PUT', '/v1/gateway/certificate', signWith(bed.pki, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey));
  t.equal(errorCode(early), 'GATEWAY_NO_PENDING_KEY');

  const csr = await admin('POST', '/v1/gateway/csr');
  t.equal(csr.status, 200, csr.body);
  t.equal(csr.json.commonName, 'localhost');
  t.same(csr.json.sans, ['dns:localhost', 'ip:127.0.0.1']);
  const pendingMode = (await stat(`${tlsConf.key}.pending`)).mode & 0o777;
  t.equal(pendingMode, 0o600, 'the pending key is private to the gateway user');
  const pub = csrKey(csr.json.csr as string);

  const other = await createTestPki(await tempDir(t, 'outpost-admin-other-'), { cn: 'Foreign CA' });
  const refusals: [string, string][] = [
    ['GATEWAY_CERT_KEY_MISMATCH', signWith(bed.pki, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)],
    ['GATEWAY_CERT_UNTRUSTED', signWith(other, pub)],
    ['GATEWAY_CERT_WRONG_PURPOSE', signWith(bed.pki, pub, { profile: 'connector', sans: [] })],
    ['GATEWAY_CERT_EXPIRED', signWith(bed.pki, pub, { notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) })],
    ['GATEWAY_ADMIN_BAD_REQUEST', 'not a certificate'],
  ];
  for (const [code, body] of refusals) {
    const r = await admin('PUT', '/v1/gateway/certificate', body);
    t.equal(errorCode(r), code, `${code} (${r.status})`);
  }
  t.equal((await servedCertificate(front.port, bed.pki.caCertPem, bed.certs.master)).serialNumber, bed.certs.listener.serial, 'still serving the original after the refusals');

  // A keep-alive connection opened before the swap keeps working after it.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: bed.pki.caCertPem, cert: bed.certs.master.certPem, key: bed.certs.master.keyPem, localAddress: MASTER_IP } as https.AgentOptions);
  t.teardown(() => agent.destroy());
  const viaAgent = () => new Promise<{ status: number; serial: string; socket: unknown }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: front.port, servername: 'localhost', path: '/echo', agent }, (res) => {
      const socket = res.socket as TLSSocket;
      const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial, socket }));
    });
    req.on('error', reject);
    req.end();
  });
  const before = await viaAgent();
  t.equal(before.status, 200);

  const good = signWith(bed.pki, pub, { notAfter: new Date(Date.now() + 3_600_000) });
  const installed = await admin('PUT', '/v1/gateway/certificate', good);
  t.equal(installed.status, 200, installed.body);
  const newSerial = new X509Certificate(good).serialNumber;
  t.equal((installed.json.certificate as { serial: string }).serial, newSerial.toUpperCase());
  t.equal(installed.json.pending, null, 'the pending key became the serving key');
  const after = await viaAgent();
  t.equal(after.status, 200, 'the connection opened before the swap still works');
  t.equal(after.socket, before.socket, 'on the same keep-alive connection');
  t.equal((await servedCertificate(front.port, bed.pki.caCertPem, bed.certs.master)).serialNumber, newSerial, 'a new connection gets the new certificate');
  t.ok(new X509Certificate(await readFile(tlsConf.cert)).checkPrivateKey(createPrivateKey(await readFile(tlsConf.key))), 'files on disk are the new matching pair');
  t.equal((await stat(tlsConf.key)).mode & 0o777, 0o600);
  // A request on a new connection completes a handshake with the new pair: the previous one is dropped.
  t.equal((await admin('GET', '/v1/gateway/tls')).status, 200);
  const until = Date.now() + 10_000;
  while (Date.now() < until && (await stat(`${tlsConf.cert}.previous`).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
  t.notOk(await stat(`${tlsConf.cert}.previous`).then(() => true, () => false), 'previous pair removed after the first handshake with the new one');
  t.ok(await auditLine(front, (l) => l.path === '/v1/gateway/certificate' && l.status === 200 && l.subject === 'CN=master'), 'install audited with the caller');
});

t.test('ok: a newer CRL of our CA is installed; fail: older, same, foreign, expired', async (t) => {
  const front = await startGatewayFront(t, bed);
  const admin = (body: string) => adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method: 'PUT', path: '/v1/gateway/crl', body });
  const caCert = new X509Certificate(bed.pki.caCertPem);
  const caKey = createPrivateKey(bed.pki.caKeyPem);
  const crl = (n: number, o: { nextUpdate?: Date; signer?: { cert: X509Certificate; key: ReturnType<typeof createPrivateKey> } } = {}) =>
    buildCrl({ issuerCert: o.signer?.cert ?? caCert, issuerKey: o.signer?.key ?? caKey, crlNumber: n, thisUpdate: new Date(Date.now() - 60_000), nextUpdate: o.nextUpdate ?? new Date(Date.now() + 3_600_000), revoked: [] });
  const current = (await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method: 'GET', path: '/v1/gateway/tls' })).json.crl as { crlNumber: number };
  const other = await createTestPki(await tempDir(t, 'outpost-admin-crl-'), { cn: 'Foreign CA' });
  const foreign = { cert: new X509Certificate(other.caCertPem), key: createPrivateKey(other.caKeyPem) };

  t.equal(errorCode(await admin(crl(current.crlNumber))), 'GATEWAY_CRL_NOT_NEWER', 'same number');
  t.equal(errorCode(await admin(crl(current.crlNumber + 50, { signer: foreign }))), 'GATEWAY_CRL_FOREIGN', 'a foreign CA\'s CRL');
  t.equal(errorCode(await admin(crl(current.crlNumber + 50, { nextUpdate: new Date(Date.now() - 1000) }))), 'GATEWAY_CRL_INVALID', 'already stale');
  const ok = await admin(crl(current.crlNumber + 10));
  t.equal(ok.status, 200, ok.body);
  t.equal((ok.json.crl as { crlNumber: number }).crlNumber, current.crlNumber + 10);
  t.equal(errorCode(await admin(crl(current.crlNumber + 5))), 'GATEWAY_CRL_NOT_NEWER', 'an older CRL after a newer one');
  t.match(await readFile(tlsConf.crl, 'utf8'), /BEGIN X509 CRL/);
  // The master still gets through with the new CRL loaded (it is signed and current).
  t.equal((await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method: 'GET', path: '/echo' })).status, 200);
});

t.test('ok: a gateway killed between writing the certificate and the key restarts serving a valid pair', async (t) => {
  // Reproduce the state on disk a kill -9 between the two writes of installPair leaves: the new certificate
  // over tls.cert, the new key still pending, the old pair as .previous.
  const front = await startGatewayFront(t, bed);
  const csr = await adminCall({ port: front.port, ca: bed.pki.caCertPem, cert: bed.certs.master, method: 'POST', path: '/v1/gateway/csr' });
  t.equal(csr.status, 200, csr.body);
  process.kill(front.pid, 'SIGKILL');
  const oldCert = await readFile(tlsConf.cert);
  const oldKey = await readFile(tlsConf.key);
  await writeFile(`${tlsConf.cert}.previous`, oldCert, { mode: 0o644 });
  await writeFile(`${tlsConf.key}.previous`, oldKey, { mode: 0o600 });
  const fresh = signWith(bed.pki, csrKey(csr.json.csr as string));
  await writeFile(tlsConf.cert, fresh, { mode: 0o644 });

  const restarted = await startGatewayFront(t, bed);
  const served = await servedCertificate(restarted.port, bed.pki.caCertPem, bed.certs.master);
  t.equal(served.serialNumber, new X509Certificate(fresh).serialNumber, 'rolled forward to the new pair');
  // The warning goes to stderr and the listening line to stdout: they may arrive in either order.
  t.ok(await waitFor(() => /finished an interrupted certificate rotation/.test(restarted.output()), 10_000, 'the recovery line').catch(() => false), `the recovery is logged: ${restarted.output()}`);

  // And when the pending key is lost as well, it rolls back to the previous pair.
  process.kill(restarted.pid, 'SIGKILL');
  await writeFile(`${tlsConf.cert}.previous`, await readFile(tlsConf.cert), { mode: 0o644 });
  await writeFile(`${tlsConf.key}.previous`, await readFile(tlsConf.key), { mode: 0o600 });
  const orphan = signWith(bed.pki, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  await writeFile(tlsConf.cert, orphan, { mode: 0o644 });
  const again = await startGatewayFront(t, bed);
  t.equal((await servedCertificate(again.port, bed.pki.caCertPem, bed.certs.master)).serialNumber, served.serialNumber, 'rolled back to the previous pair');
});

t.test('ok: a client allowed only by an admin rule keeps its keep-alive connection across a reload', async (t) => {
  const own = await createBed(t);
  (own.config.access as unknown[]).push({ name: 'admin-only', sources: [`${MASTER_IP}/32`], clients: { subjects: ['CN=intruder'] }, admin: true });
  // Long enough that the idle keep-alive connection outlives a reload on a loaded machine.
  Object.assign(own.config.limits as Record<string, unknown>, { keepAliveTimeoutMs: 120_000 });
  await own.writeConfig();
  const front = await startGatewayFront(t, own);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: own.pki.caCertPem, cert: own.certs.intruder.certPem, key: own.certs.intruder.keyPem, localAddress: MASTER_IP } as https.AgentOptions);
  t.teardown(() => agent.destroy());
  const tlsFacts = () => new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: front.port, servername: 'localhost', path: '/v1/gateway/tls', agent }, (res) => {
      const socket = res.socket;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socket }));
    });
    req.on('error', reject);
    req.end();
  });
  const before = await tlsFacts();
  t.equal(before.status, 200, 'the admin-only client may read the TLS facts');
  await front.reload();
  const after = await tlsFacts();
  t.equal(after.status, 200);
  t.ok(before.socket, 'the connection is known');
  t.equal(after.socket, before.socket, 'the reload did not close its connection: admin rules count as allowed');
});
