import t from 'tap';
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, FAST, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore, passphrase, listing } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';
import { createTestPki } from '../fixtures/pki.js';
import { CaStore } from '../../ca/store.js';
import { unlockRoot } from '../../ca/authority.js';
import { buildCertificate } from '../../ca/x509.js';
import { randomSerialHex } from '../../ca/serial.js';
import { exportRoot } from '../../ca/transfer.js';
import { importRoot } from '../../ca/import.js';

const pass = { OUTPOST_P12_PASSWORD: P12_PASSWORD };
const opensslEnv = { P12PW: P12_PASSWORD };

t.test('import accepts good files and refuses each bad one with its own code', async (t) => {
  const s = await populatedStore(t);
  // A standby that already took over the root (in-process; the CLI path is in ca-ha-standby).
  const rootFile = join(s.work, 'root.p12');
  await exportRoot(s.store, { out: rootFile, iterations: 2048, passphrase, password: async () => P12_PASSWORD });
  const standbyDir = join(s.work, 'standby');
  await importRoot(new CaStore(standbyDir), rootFile, { makeDefault: true, passphrase, password: async () => P12_PASSWORD });

  const conP12 = join(s.work, 'master.p12');
  await ca(s.dir, ['export', s.connector.thumbprint, '--out', conP12, ...FAST]);
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
  t.equal((await ca(standbyDir, ['import', tampered], pass)).errorCode, 'CA_PKCS12_BAD_MAC');
  t.equal((await ca(standbyDir, ['import', conP12], { OUTPOST_P12_PASSWORD: 'wrong password' })).errorCode, 'CA_PKCS12_BAD_PASSWORD');

  const rc2 = join(s.work, 'rc2.p12');
  await openssl(['pkcs12', '-export', '-legacy', '-inkey', conKey, '-in', s.connector.certPath, '-out', rc2, '-passout', 'env:P12PW'], { env: opensslEnv });
  t.equal((await ca(standbyDir, ['import', rc2], pass)).errorCode, 'CA_PKCS12_UNSUPPORTED', 'RC2-40 (openssl -legacy default) is refused clearly');

  const lisKey = await readFile(join(s.dir, 'keys', `${s.listener.thumbprint}.key`), 'utf8');
  const mismatch = join(s.work, 'mismatch.pem');
  await writeFile(mismatch, (await readFile(s.connector.certPath, 'utf8')) + lisKey);
  t.equal((await ca(standbyDir, ['import', mismatch], pass)).errorCode, 'CA_IMPORT_KEY_MISMATCH');

  const certOnly = join(s.work, 'cert-only.pem');
  await writeFile(certOnly, await readFile(s.connector.certPath, 'utf8'));
  t.equal((await ca(standbyDir, ['import', certOnly], pass)).errorCode, 'CA_IMPORT_NO_KEY');

  const other = await createTestPki(s.work, { cn: 'Some Other CA' });
  const stranger = await other.issueConnector({ name: 'stranger' });
  const foreign = join(s.work, 'foreign.pem');
  await writeFile(foreign, stranger.certPem + stranger.keyPem);
  t.equal((await ca(standbyDir, ['import', foreign], pass)).errorCode, 'CA_IMPORT_UNTRUSTED_CHAIN');

  const lisP12 = join(s.work, 'listener.p12');
  await ca(s.dir, ['export', s.listener.thumbprint, '--out', lisP12, ...FAST]);
  t.equal((await ca(standbyDir, ['import', lisP12, '--as', 'connector'], pass)).errorCode, 'CA_IMPORT_WRONG_EKU');
  t.equal((await ca(standbyDir, ['import', lisP12, '--as', 'listener'], pass)).code, 0, 'the same file fits the listener slot');

  // An expired certificate from the same root (issued directly with the CA library: the CLI will not).
  const root = await unlockRoot(s.store, await s.store.readIndex(), passphrase);
  const key = createPrivateKey(await readFile(join(s.dir, 'keys', `${s.connector.thumbprint}.key`)));
  const day = 86_400_000;
  const old = buildCertificate({ serialHex: randomSerialHex(), subject: { commonName: 'old' }, publicKey: key, notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day), profile: 'connector', issuer: root.issuer });
  const expired = join(s.work, 'expired.pem');
  await writeFile(expired, old.pem + key.export({ type: 'pkcs8', format: 'pem' }).toString());
  t.equal((await ca(standbyDir, ['import', expired], pass)).errorCode, 'CA_IMPORT_EXPIRED');
  const early = buildCertificate({ serialHex: randomSerialHex(), subject: { commonName: 'early' }, publicKey: key, notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 3 * day), profile: 'connector', issuer: root.issuer });
  const future = join(s.work, 'future.pem');
  await writeFile(future, early.pem + key.export({ type: 'pkcs8', format: 'pem' }).toString());
  t.equal((await ca(standbyDir, ['import', future], pass)).errorCode, 'CA_IMPORT_NOT_YET_VALID');
  t.equal((await ca(standbyDir, ['import', join(s.work, 'missing.p12')], pass)).errorCode, 'CA_INPUT_UNREADABLE');
});
