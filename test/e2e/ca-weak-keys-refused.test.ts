/**
 * RSA keys under 2048 bits are refused everywhere a key gets certified or trusted: `ca sign` (CSRs from
 * OpenSSL), `ca import` / `import-root`, the gateway's own certificate and CA at start, and client
 * certificates at the handshake — even one our own CA signed before the check existed.
 */
import t from 'tap';
import tls from 'node:tls';
import { generateKeyPairSync, createPrivateKey, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, initStore, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';
import { runOutpost } from '../fixtures/cli.js';
import { createBed, startGatewayFront, auditLine, MASTER_IP, type Bed } from '../fixtures/gateway.js';
import { call } from '../fixtures/gateway-client.js';
import { buildCertificate } from '../../ca/x509.js';
import { privateKeyPem } from '../../ca/keys.js';
import { randomSerialHex } from '../../ca/serial.js';
import { thumbprintOf } from '../../ca/thumbprint.js';
import type { Issued } from '../fixtures/pki.js';

const p12Env = { P12PW: P12_PASSWORD };

t.test('ca sign refuses RSA-512 and RSA-1024 requests from openssl req, signs RSA-2048', async (t) => {
  const { dir, work } = await initStore(t);
  for (const bits of [512, 1024, 2048]) {
    const key = join(work, `r${bits}.key`);
    const csr = join(work, `r${bits}.csr`);
    const made = await openssl(['req', '-new', '-newkey', `rsa:${bits}`, '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=agent-${bits}`]);
    t.equal(made.code, 0, made.stderr);
    const r = await ca(dir, ['sign', csr, '--profile', 'listener', '--san', 'dns:localhost']);
    if (bits < 2048) {
      t.equal(r.errorCode, 'CA_KEY_TOO_WEAK', `RSA-${bits}: ${r.stderr}`);
      t.match(r.stderr, new RegExp(`the request has an RSA-${bits} key; at least RSA-2048 is needed`));
    } else {
      t.equal(r.code, 0, r.stderr);
    }
  }
});

t.test('ca import and import-root refuse RSA-1024 keys', async (t) => {
  const s = await populatedStore(t);
  const key = join(s.work, 'weak.key');
  const crt = join(s.work, 'weak.crt');
  const p12 = join(s.work, 'weak.p12');
  const made = await openssl(['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', key, '-out', crt, '-days', '30', '-subj', '/CN=weak-root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'extendedKeyUsage=clientAuth']);
  t.equal(made.code, 0, made.stderr);
  t.equal((await openssl(['pkcs12', '-export', '-inkey', key, '-in', crt, '-out', p12, '-passout', 'env:P12PW'], { env: p12Env })).code, 0);
  const root = await ca(join(s.work, 'fresh'), ['import-root', p12]);
  t.equal(root.errorCode, 'CA_KEY_TOO_WEAK', root.stderr);
  t.match(root.stderr, /the private key in the file has an RSA-1024 key/);
  const leaf = await ca(s.dir, ['import', p12]);
  t.equal(leaf.errorCode, 'CA_KEY_TOO_WEAK', leaf.stderr);
});

/** A connector certificate for `name` with an RSA key of `bits`, signed by the bed's own CA. */
async function weakConnector(bed: Bed, name: string, bits: number): Promise<Issued> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const built = buildCertificate({
    serialHex: randomSerialHex(),
    subject: { commonName: name },
    publicKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    profile: 'connector',
    issuer: { cert: new X509Certificate(bed.pki.caCertPem), key: createPrivateKey(bed.pki.caKeyPem) },
  });
  const x509 = new X509Certificate(built.pem);
  return { certPem: built.pem, keyPem: privateKeyPem(privateKey), certPath: '', keyPath: '', thumbprint: thumbprintOf(x509), serial: x509.serialNumber, subject: `CN=${name}` };
}

t.test('the gateway refuses a client whose certificate has an RSA-1024 key, even one its CA signed and a rule pins', async (t) => {
  const bed = await createBed(t);
  const weak = await weakConnector(bed, 'master', 1024);
  const access = bed.config.access as { clients: { thumbprints?: string[] } }[];
  access[0]!.clients.thumbprints = [bed.certs.master.thumbprint, weak.thumbprint];
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  const strong = await call({ port: front.port, ca: bed.pki.caCertPem, from: MASTER_IP, cert: bed.certs.master });
  t.equal(strong.status, 200, 'the RSA-2048 master gets through');
  // The client lowers its own security level (Node 24's default refuses to present an RSA-1024 key).
  const answer = await new Promise<string>((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port: front.port, servername: 'localhost', localAddress: MASTER_IP, ca: bed.pki.caCertPem, cert: weak.certPem, key: weak.keyPem, ciphers: 'DEFAULT:@SECLEVEL=0' } as tls.ConnectionOptions);
    let text = '';
    sock.on('secureConnect', () => sock.write('GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    sock.setEncoding('utf8').on('data', (d: string) => (text += d));
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(text));
    setTimeout(() => sock.destroy(), 15_000).unref();
  });
  t.equal(answer, '', 'no HTTP answer for the RSA-1024 client');
  const line = await auditLine(front, (l) => l.kind === 'connection' && l.reason === 'CLIENT_KEY_TOO_WEAK');
  t.ok(line, 'the refusal is audited with its reason');
  t.equal(line?.thumbprint, weak.thumbprint);
});

t.test('the gateway does not start on a weak key of its own or a weak CA', async (t) => {
  const bed = await createBed(t);
  const weakListenerKey = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const built = buildCertificate({
    serialHex: randomSerialHex(),
    subject: { commonName: 'localhost' },
    publicKey: weakListenerKey.publicKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    profile: 'listener',
    sans: [{ type: 'dns', value: 'localhost' }],
    issuer: { cert: new X509Certificate(bed.pki.caCertPem), key: createPrivateKey(bed.pki.caKeyPem) },
  });
  const cert = join(bed.dir, 'weak-listener.crt');
  const key = join(bed.dir, 'weak-listener.key');
  await writeFile(cert, built.pem);
  await writeFile(key, privateKeyPem(weakListenerKey.privateKey), { mode: 0o600 });
  const tlsConfig = bed.config.tls as Record<string, unknown>;
  await bed.writeConfig({ ...bed.config, tls: { ...tlsConfig, cert, key } });
  const own = await runOutpost(['gateway', 'check', '--config', bed.configPath, '--json']);
  t.not(own.code, 0);
  t.match(own.stderr, /GATEWAY_TLS_KEY_TOO_WEAK/);
  t.match(own.stderr, /tls\.cert .*RSA-1024/);

  const weakCa = join(bed.dir, 'weak-ca.crt');
  const weakCaKey = join(bed.dir, 'weak-ca.key');
  t.equal((await openssl(['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', weakCaKey, '-out', weakCa, '-days', '30', '-subj', '/CN=weak-ca'])).code, 0);
  await writeFile(join(bed.dir, 'bundle.crt'), `${bed.pki.caCertPem}${await (await import('node:fs/promises')).readFile(weakCa, 'utf8')}`);
  await bed.writeConfig({ ...bed.config, tls: { ...tlsConfig, ca: join(bed.dir, 'bundle.crt') } });
  const trusted = await runOutpost(['gateway', 'start', '--config', bed.configPath], { timeoutMs: 30_000 });
  t.not(trusted.code, 0, 'start fails');
  t.match(trusted.stderr, /GATEWAY_TLS_KEY_TOO_WEAK/);
  t.match(trusted.stderr, /tls\.ca .*CN=weak-ca.*RSA-1024/);
});
