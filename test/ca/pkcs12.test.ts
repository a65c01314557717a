import t from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { buildPkcs12, parsePkcs12, Pkcs12Error } from '../../ca/pkcs12.js';
import * as der from '../../ca/der.js';
import { createTestPki } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';

// Low iteration counts keep the unit tests quick; the default (600000) is checked end to end.
const FAST = 2048;

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof Pkcs12Error) return err.reason;
    throw err;
  }
  return undefined;
}

t.test('PKCS#12 round trip, modern and legacy, with the key, chain and a CRL', async (t) => {
  const pki = await createTestPki(await tempDir(t));
  const c = await pki.issueConnector({ name: 'master' });
  const crlPem = await (await import('node:fs/promises')).readFile(await pki.writeCrl(), 'utf8');
  const crlDer = Buffer.from(crlPem.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
  const certs = [new X509Certificate(c.certPem), new X509Certificate(pki.caCertPem)];
  for (const legacy of [false, true]) {
    const file = buildPkcs12({ key: createPrivateKey(c.keyPem), certs, crls: [crlDer], password: 'pässwörd-1', legacy, iterations: FAST });
    const back = parsePkcs12(file, 'pässwörd-1');
    t.equal(back.keys.length, 1);
    t.ok(back.certs[0]?.checkPrivateKey(back.keys[0]!), `key matches (legacy=${legacy})`);
    t.same(back.certs.map((x) => x.fingerprint256), certs.map((x) => x.fingerprint256));
    t.same(back.crls, [crlDer]);
  }
});

t.test('PKCS#12 refusals: no MAC, wrong password, altered MAC, altered contents, not PKCS#12', async (t) => {
  const pki = await createTestPki(await tempDir(t));
  const c = await pki.issueConnector({ name: 'master' });
  const file = buildPkcs12({ key: createPrivateKey(c.keyPem), certs: [new X509Certificate(c.certPem)], password: 'right-password', iterations: FAST });

  const [version, authSafe] = der.children(der.decode(file));
  const noMac = der.encode(der.seq([version!, authSafe!]));
  t.equal(reasonOf(() => parsePkcs12(noMac, 'right-password')), 'no-mac', 'a MAC-less file is refused even with the right password');

  t.equal(reasonOf(() => parsePkcs12(file, 'wrong-password')), 'bad-password');

  const macFlipped = Buffer.from(file);
  const digestAt = macFlipped.length - 40; // inside the MAC digest near the end
  macFlipped[digestAt] = (macFlipped[digestAt] ?? 0) ^ 0x01;
  // As with OpenSSL ("Mac verify error: invalid password?"), an altered file and a wrong password look alike.
  t.equal(reasonOf(() => parsePkcs12(macFlipped, 'right-password')), 'bad-password');

  const contentFlipped = Buffer.from(file);
  const mid = Math.floor(file.length / 3);
  contentFlipped[mid] = (contentFlipped[mid] ?? 0) ^ 0x80;
  t.match(reasonOf(() => parsePkcs12(contentFlipped, 'right-password')), /bad-password|malformed/, 'altered contents are never accepted');

  t.equal(reasonOf(() => parsePkcs12(Buffer.from('not a pfx at all'), 'x')), 'malformed');
  t.equal(reasonOf(() => parsePkcs12(file, 'right-password')), undefined, 'the original still opens');
});
