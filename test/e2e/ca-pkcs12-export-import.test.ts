import t from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, FAST, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';

const opensslEnv = { P12PW: P12_PASSWORD };

t.test('export writes PKCS#12 that OpenSSL 3 reads without -legacy (AES-256, PBKDF2-SHA256, 600000 iterations)', async (t) => {
  const s = await populatedStore(t);
  const out = join(s.work, 'master.p12');
  const r = await ca(s.dir, ['export', s.connector.thumbprint, '--out', out, '--chain']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.json.thumbprint, s.connector.thumbprint);
  t.equal((await stat(out)).mode & 0o777, 0o600, 'export file 0600');
  const info = await openssl(['pkcs12', '-info', '-in', out, '-noout', '-passin', 'env:P12PW'], { env: opensslEnv });
  t.equal(info.code, 0, info.stderr);
  t.match(info.stderr, /MAC: sha256, Iteration 600000/);
  t.match(info.stderr, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256/);
  const dump = await openssl(['pkcs12', '-in', out, '-nodes', '-passin', 'env:P12PW'], { env: opensslEnv });
  const certs = [...dump.stdout.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
  t.same(certs.map((c) => c.fingerprint256.replace(/:/g, '')).sort(), [s.connector.thumbprint, s.root.thumbprint].sort());
  const key = createPrivateKey(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/.exec(dump.stdout)?.[0] ?? '');
  t.ok(certs.find((c) => c.fingerprint256.replace(/:/g, '') === s.connector.thumbprint)?.checkPrivateKey(key), 'the key in the file belongs to the certificate');

  const again = await ca(s.dir, ['export', s.connector.thumbprint, '--out', out]);
  t.equal(again.errorCode, 'CA_OUTPUT_EXISTS', 'never overwrites without --force');
  const short = await ca(s.dir, ['export', s.connector.thumbprint, '--out', join(s.work, 'x.p12')], { OUTPOST_P12_PASSWORD: 'short' });
  t.equal(short.errorCode, 'CA_PASSWORD_TOO_SHORT');
});

t.test('--legacy writes 3DES/SHA-1 PKCS#12; PEM export carries the chain and an AES-256 encrypted key', async (t) => {
  const s = await populatedStore(t);
  const legacy = join(s.work, 'win2016.pfx');
  t.equal((await ca(s.dir, ['export', s.connector.thumbprint, '--out', legacy, '--legacy'])).code, 0);
  const info = await openssl(['pkcs12', '-info', '-legacy', '-in', legacy, '-noout', '-passin', 'env:P12PW'], { env: opensslEnv });
  t.equal(info.code, 0, info.stderr);
  t.match(info.stderr, /MAC: sha1, Iteration 2048/);
  t.match(info.stderr, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
  t.notMatch(info.stderr, /RC2/);

  const pem = join(s.work, 'agent.pem');
  t.equal((await ca(s.dir, ['export', s.listener.thumbprint, '--out', pem, '--chain', ...FAST])).code, 0);
  const text = await readFile(pem, 'utf8');
  t.equal(text.match(/BEGIN CERTIFICATE/g)?.length, 2, 'certificate and root');
  t.match(text, /BEGIN ENCRYPTED PRIVATE KEY/);
  t.notMatch(text, /BEGIN PRIVATE KEY/);
  const key = await openssl(['pkey', '-in', pem, '-passin', 'env:P12PW', '-noout'], { env: opensslEnv });
  t.equal(key.code, 0, 'openssl opens the encrypted key with the password');
  t.equal((await openssl(['pkey', '-in', pem, '-passin', 'pass:wrong-password', '-noout'])).code !== 0, true);
  const verify = await openssl(['verify', '-CAfile', s.root.certPath, '-purpose', 'sslserver', pem]);
  t.equal(verify.code, 0);
});
