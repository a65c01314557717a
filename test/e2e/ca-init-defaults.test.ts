import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOutpost, tempDir } from '../fixtures/cli.js';
import { CA_PASSWORD } from '../fixtures/ca-cli.js';
import { openssl } from '../fixtures/openssl.js';

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

t.test('init with defaults makes an RSA-3072 root in $OUTPOST_HOME/ca with private files', async (t) => {
  const home = await tempDir(t);
  const r = await runOutpost(['ca', 'init', '--json'], { env: { OUTPOST_HOME: home, OUTPOST_CA_PASSWORD: CA_PASSWORD } });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { thumbprint: string; certPath: string };
  const dir = join(home, 'ca');
  t.equal(out.certPath, join(dir, 'roots', `${out.thumbprint}.crt`));
  const cert = new X509Certificate(await readFile(out.certPath));
  t.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 3072, 'default key is RSA-3072');
  t.equal(cert.fingerprint256.replace(/:/g, ''), out.thumbprint);
  t.equal(await mode(dir), 0o700, 'store 0700');
  t.equal(await mode(join(dir, 'index.json')), 0o600);
  const keyPem = await readFile(join(dir, 'roots', `${out.thumbprint}.key`), 'utf8');
  t.equal(await mode(join(dir, 'roots', `${out.thumbprint}.key`)), 0o600);
  t.match(keyPem, /BEGIN ENCRYPTED PRIVATE KEY/, 'root key encrypted at rest');
  const parsed = await openssl(['asn1parse', '-in', join(dir, 'roots', `${out.thumbprint}.key`)]);
  t.match(parsed.stdout, /PBES2[\s\S]*PBKDF2[\s\S]*hmacWithSHA256[\s\S]*aes-256-cbc/, 'PKCS#8 PBES2 with PBKDF2-SHA256 and AES-256');
  const again = await runOutpost(['ca', 'init', '--json'], { env: { OUTPOST_HOME: home, OUTPOST_CA_PASSWORD: CA_PASSWORD } });
  t.equal(again.code, 1);
  t.match(again.stderr, /CA_STORE_EXISTS/);
});
