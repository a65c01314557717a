import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ca } from '../fixtures/ca-cli.js';
import { populatedStore } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';

t.test('a CSR made by openssl req is signed; altered, Ed25519 and garbage CSRs are refused', async (t) => {
  const s = await populatedStore(t);
  const key = join(s.work, 'o.key');
  const csr = join(s.work, 'o.csr');
  const made = await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=openssl-agent', '-addext', 'subjectAltName=DNS:openssl-agent.example,IP:127.0.0.1', '-out', csr]);
  t.equal(made.code, 0, made.stderr);
  const signed = await ca(s.dir, ['sign', csr, '--profile', 'listener']);
  t.equal(signed.code, 0, signed.stderr);
  t.equal(signed.json.subject, 'openssl-agent');
  t.same(signed.json.sans, ['dns:openssl-agent.example', 'ip:127.0.0.1']);
  t.equal((await openssl(['verify', '-CAfile', s.root.certPath, '-purpose', 'sslserver', signed.json.certPath as string])).code, 0);
  const client = await ca(s.dir, ['sign', csr, '--profile', 'connector', '--make-default']);
  t.equal(client.code, 0);
  t.equal((await openssl(['verify', '-CAfile', s.root.certPath, '-purpose', 'sslclient', client.json.certPath as string])).code, 0);
  t.equal(client.json.isDefault, true);

  const der = Buffer.from((await readFile(csr, 'utf8')).replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('openssl-agent'));
  der[at] = 'X'.charCodeAt(0);
  const tampered = join(s.work, 'tampered.csr');
  await writeFile(tampered, `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
  t.equal((await ca(s.dir, ['sign', tampered, '--profile', 'listener'])).errorCode, 'CA_CSR_INVALID');

  const edCsr = join(s.work, 'ed.csr');
  await openssl(['req', '-new', '-newkey', 'ed25519', '-nodes', '-keyout', join(s.work, 'ed.key'), '-subj', '/CN=ed-agent', '-out', edCsr]);
  const ed = await ca(s.dir, ['sign', edCsr, '--profile', 'listener', '--san', 'dns:ed-agent']);
  t.equal(ed.errorCode, 'CA_CSR_INVALID');
  t.match(ed.stderr, /only RSA and EC keys/);
  t.equal((await ca(s.dir, ['sign', s.root.certPath, '--profile', 'listener'])).errorCode, 'CA_CSR_INVALID');
  t.equal((await ca(s.dir, ['sign', join(s.work, 'missing.csr'), '--profile', 'listener'])).errorCode, 'CA_INPUT_UNREADABLE');
});
