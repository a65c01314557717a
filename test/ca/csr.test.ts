import t from 'tap';
import { generateRsaKey } from '../../ca/keys.js';
import { buildCsr, parseCsr } from '../../ca/csr.js';
import { openssl } from '../fixtures/openssl.js';
import { tempDir } from '../fixtures/cli.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

t.test('a CSR from buildCsr verifies with openssl and parses back', async (t) => {
  const key = await generateRsaKey(2048);
  const pem = buildCsr('agent-02', [{ type: 'dns', value: 'agent-02.example.com' }, { type: 'ip', value: '10.0.0.2' }, { type: 'ip', value: '::1' }], key.privateKey);
  const path = join(await tempDir(t), 'r.csr');
  await writeFile(path, pem);
  const r = await openssl(['req', '-in', path, '-noout', '-verify', '-text']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /DNS:agent-02.example.com, IP Address:10.0.0.2, IP Address:0:0:0:0:0:0:0:1/);
  const parsed = parseCsr(pem);
  t.equal(parsed.commonName, 'agent-02');
  t.same(parsed.sans.map((s) => `${s.type}:${s.value}`), ['dns:agent-02.example.com', 'ip:10.0.0.2', 'ip:::1']);
  t.ok(parsed.publicKey.equals(key.publicKey));
});

t.test('a CSR whose content was altered after signing is refused', async (t) => {
  const key = await generateRsaKey(2048);
  const pem = buildCsr('agent-02', [], key.privateKey);
  const body = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const at = body.indexOf(Buffer.from('agent-02'));
  body[at] = 'b'.charCodeAt(0); // CN agent-02 → bgent-02, signature unchanged
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${body.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  t.throws(() => parseCsr(tampered), /self-signature does not verify/);
  t.throws(() => parseCsr('garbage'), /no CERTIFICATE REQUEST/);
});
