import t from 'tap';
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore, passphrase, standbyOf, exportFast } from '../fixtures/ca-store.js';
import { createTestPki } from '../fixtures/pki.js';
import { unlockRoot } from '../../ca/authority.js';
import { buildCertificate } from '../../ca/x509.js';
import { randomSerialHex } from '../../ca/serial.js';

const pass = { OUTPOST_P12_PASSWORD: P12_PASSWORD };

t.test('import refuses keys, chains, slots and dates it cannot vouch for', async (t) => {
  const s = await populatedStore(t);
  const standbyDir = await standbyOf(s);
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
  await exportFast(s, s.listener.thumbprint, lisP12);
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
