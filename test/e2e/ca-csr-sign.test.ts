import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ca } from '../fixtures/ca-cli.js';
import { populatedStore, listing } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';

t.test('ca request on the agent host, ca sign on the CA: the key never travels', async (t) => {
  const s = await populatedStore(t);
  const agentHost = join(s.work, 'agent-host');
  await (await import('node:fs/promises')).mkdir(agentHost, { mode: 0o700 });
  const keyPath = join(agentHost, 'agent.key');
  const csrPath = join(agentHost, 'agent.csr');
  // `ca request` needs no CA store: --ca-dir is accepted but unused.
  const req = await ca(join(agentHost, 'no-store'), ['request', '--name', 'agent-02', '--san', 'dns:agent-02.example.com,ip:192.0.2.7', '--key', 'rsa-2048', '--out-key', keyPath, '--out-csr', csrPath]);
  t.equal(req.code, 0, req.stderr);
  t.equal((await stat(keyPath)).mode & 0o777, 0o600);
  t.match(req.json.publicKeySha256, /^[0-9A-F]{64}$/);
  t.equal((await openssl(['req', '-in', csrPath, '-noout', '-verify'])).code, 0, 'openssl accepts the CSR');

  const out = join(s.work, 'agent-02.crt');
  const signed = await ca(s.dir, ['sign', csrPath, '--profile', 'listener', '--out', out, '--chain']);
  t.equal(signed.code, 0, signed.stderr);
  t.same(signed.json.sans, ['dns:agent-02.example.com', 'ip:192.0.2.7']);
  const cert = new X509Certificate(await readFile(out));
  t.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(await readFile(keyPath))), 'certificate is for the key made on the agent host');
  t.equal(cert.fingerprint256.replace(/:/g, ''), signed.json.thumbprint);
  t.equal((await openssl(['verify', '-CAfile', s.root.certPath, '-purpose', 'sslserver', out])).code, 0);
  const listed = { json: await listing(s.dir) };
  const rec = (listed.json.certificates as { thumbprint: string; hasKey: boolean; origin: string }[]).find((c) => c.thumbprint === signed.json.thumbprint);
  t.same([rec?.hasKey, rec?.origin], [false, 'signed'], 'the store records it without a key');
  t.equal((await ca(s.dir, ['export', signed.json.thumbprint as string, '--out', join(s.work, 'x.p12')])).errorCode, 'CA_NO_PRIVATE_KEY');

  // renew keeps a CSR-signed certificate's key (it lives on the agent host)
  const renewed = await ca(s.dir, ['renew', signed.json.thumbprint as string, '--revoke-old']);
  t.equal(renewed.code, 0, renewed.stderr);
  t.not(renewed.json.thumbprint, signed.json.thumbprint);
  t.same(renewed.json.sans, signed.json.sans);
  const renewedCert = new X509Certificate(await readFile(renewed.json.certPath as string));
  t.ok(renewedCert.publicKey.equals(cert.publicKey), 'same public key');
  const after = { json: await listing(s.dir) };
  t.equal((after.json.certificates as { thumbprint: string; state: string }[]).find((c) => c.thumbprint === signed.json.thumbprint)?.state, 'revoked', '--revoke-old revoked it');
});
