import t from 'tap';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore, listing, standbyOf, exportFast } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';

const pass = { OUTPOST_P12_PASSWORD: P12_PASSWORD };
const opensslEnv = { P12PW: P12_PASSWORD };

t.test('import accepts our and OpenSSL\'s PKCS#12 and refuses MAC-less, altered, wrong-password and RC2 files', async (t) => {
  const s = await populatedStore(t);
  const standbyDir = await standbyOf(s);
  const conP12 = join(s.work, 'master.p12');
  await exportFast(s, s.connector.thumbprint, conP12);
  const ok = await ca(standbyDir, ['import', conP12, '--make-default'], pass);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.json.thumbprint, s.connector.thumbprint);
  t.equal(ok.json.isDefault, true);
  t.equal((await stat(ok.json.keyPath as string)).mode & 0o777, 0o600);
  t.equal((await listing(standbyDir)).defaultConnector, s.connector.thumbprint);

  // OpenSSL's own default export (AES-256, SHA-256 MAC) imports too.
  const conKey = join(s.dir, 'keys', `${s.connector.thumbprint}.key`);
  const byOpenssl = join(s.work, 'openssl.p12');
  await openssl(['pkcs12', '-export', '-inkey', conKey, '-in', s.connector.certPath, '-out', byOpenssl, '-passout', 'env:P12PW'], { env: opensslEnv });
  t.equal((await ca(standbyDir, ['import', byOpenssl], pass)).code, 0, 'OpenSSL-made PKCS#12 accepted');

  const noMac = join(s.work, 'nomac.p12');
  const nm = await openssl(['pkcs12', '-export', '-nomac', '-inkey', conKey, '-in', s.connector.certPath, '-out', noMac, '-passout', 'env:P12PW'], { env: opensslEnv });
  t.equal(nm.code, 0, nm.stderr);
  t.equal((await ca(standbyDir, ['import', noMac], pass)).errorCode, 'CA_PKCS12_NO_MAC');

  const tampered = join(s.work, 'tampered.p12');
  const bytes = await readFile(conP12);
  bytes[bytes.length - 30] = (bytes[bytes.length - 30] ?? 0) ^ 0xff;
  await writeFile(tampered, bytes);
  t.equal((await ca(standbyDir, ['import', tampered], pass)).errorCode, 'CA_PKCS12_BAD_PASSWORD', 'an altered file fails its MAC like a wrong password');
  t.equal((await ca(standbyDir, ['import', conP12], { OUTPOST_P12_PASSWORD: 'wrong password' })).errorCode, 'CA_PKCS12_BAD_PASSWORD');

  const rc2 = join(s.work, 'rc2.p12');
  await openssl(['pkcs12', '-export', '-legacy', '-inkey', conKey, '-in', s.connector.certPath, '-out', rc2, '-passout', 'env:P12PW'], { env: opensslEnv });
  t.equal((await ca(standbyDir, ['import', rc2], pass)).errorCode, 'CA_PKCS12_UNSUPPORTED', 'RC2-40 (openssl -legacy default) is refused clearly');
});
