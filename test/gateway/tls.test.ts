import t from 'tap';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertKeyPrivate, daysUntil, loadTlsMaterial } from '../../gateway/tls.js';
import { crlDates } from '../../gateway/crl-info.js';
import { gatewayError } from '../../gateway/errors.js';
import { createTestPki } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';

t.test('key permissions', async (t) => {
  const dir = await tempDir(t);
  const key = join(dir, 'k.key');
  await writeFile(key, 'x', { mode: 0o600 });
  await t.resolves(assertKeyPrivate(key), 'ok: 0600 and ours');
  for (const mode of [0o640, 0o604, 0o644]) {
    await chmod(key, mode);
    const err = await assertKeyPrivate(key).catch((e: unknown) => e);
    t.ok(gatewayError.is(err, 'GATEWAY_KEY_PERMISSIONS'), `fail: mode ${mode.toString(8)}`);
  }
  await chmod(key, 0o600);
  const err = await assertKeyPrivate(key, 4242).catch((e: unknown) => e);
  t.match(err, { code: 'GATEWAY_KEY_PERMISSIONS', message: /owned by uid \d+, not by the gateway's user \(uid 4242\)/ }, 'fail: another owner');
  t.match(await assertKeyPrivate(join(dir, 'missing')).catch((e: unknown) => e), { code: 'GATEWAY_TLS_FILE_UNREADABLE', message: /ENOENT/ });
});

t.test('TLS material from our own CA: dates, CRL nextUpdate, settings', async (t) => {
  const dir = await tempDir(t);
  const pki = await createTestPki(dir);
  const listener = await pki.issueListener({ name: 'localhost', days: 10 });
  const crl = await pki.writeCrl();
  const m = await loadTlsMaterial({ cert: listener.certPath, key: listener.keyPath, ca: pki.caCertPath, crl, requireClientCert: true, minVersion: 'TLSv1.2', crlWarnHours: 48 });
  t.equal(daysUntil(m.certNotAfter), 9, 'days to expiry (floor)');
  t.ok(m.crlNextUpdate && Math.abs(m.crlNextUpdate.getTime() - (Date.now() + 7 * 86_400_000)) < 120_000, 'CRL nextUpdate in 7 days');
  t.equal(m.options.minVersion, 'TLSv1.2');
  t.equal(m.options.ecdhCurve, 'X25519:P-256:P-384');
  const tls12 = String(m.options.ciphers).split(':').filter((c) => !c.startsWith('TLS_'));
  t.ok(tls12.length > 0 && tls12.every((c) => /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/.test(c)), 'ECDHE + AEAD only');
  await writeFile(crl, 'garbage');
  t.match(await loadTlsMaterial({ cert: listener.certPath, key: listener.keyPath, ca: pki.caCertPath, crl, requireClientCert: true, minVersion: 'TLSv1.2', crlWarnHours: 48 }).catch((e: unknown) => e),
    { code: 'GATEWAY_TLS_FILE_UNREADABLE', message: /tls\.crl/ });
});

t.test('crlDates reads DER time forms', async (t) => {
  const pki = await createTestPki(await tempDir(t));
  const { thisUpdate, nextUpdate } = crlDates(await readFile(await pki.writeCrl(), 'utf8'));
  t.ok(thisUpdate.getTime() < Date.now());
  t.ok(nextUpdate && nextUpdate.getTime() > Date.now());
  t.throws(() => crlDates('not a crl'), /no X509 CRL/);
  t.throws(() => crlDates(Buffer.from([0x30, 0x05, 0x01])), /truncated|not a CRL/);
});
