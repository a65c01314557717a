import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { normalizeThumbprint, parseThumbprint, thumbprintOf, sha1ThumbprintOf, colonThumbprint } from '../../ca/thumbprint.js';
import { createTestPki } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';

const HEX = 'ab'.repeat(32);

t.test('normalizeThumbprint accepts colons, spaces, any case and a sha256: prefix', async (t) => {
  t.equal(normalizeThumbprint(HEX), HEX.toUpperCase());
  t.equal(normalizeThumbprint(HEX.replace(/(..)(?!$)/g, '$1:')), HEX.toUpperCase());
  t.equal(normalizeThumbprint(`SHA256:${HEX.toUpperCase()}`), HEX.toUpperCase());
  t.equal(normalizeThumbprint(` ${HEX.slice(0, 32)} ${HEX.slice(32)} `), HEX.toUpperCase());
  t.equal(colonThumbprint(HEX), HEX.toUpperCase().replace(/(..)(?!$)/g, '$1:'));
});

t.test('normalizeThumbprint refuses what is not a SHA-256 thumbprint', async (t) => {
  for (const bad of ['', 'ab'.repeat(20), 'ab'.repeat(33), `${'ab'.repeat(31)}zz`]) {
    t.equal(parseThumbprint(bad), undefined, JSON.stringify(bad));
    t.throws(() => normalizeThumbprint(bad), TypeError);
  }
});

t.test('thumbprintOf agrees with OpenSSL fingerprints for PEM, DER and X509Certificate', async (t) => {
  const pki = await createTestPki(await tempDir(t));
  const x = new X509Certificate(pki.caCertPem);
  const expected = x.fingerprint256.replace(/:/g, '');
  t.equal(thumbprintOf(pki.caCertPem), expected);
  t.equal(thumbprintOf(x), expected);
  t.equal(thumbprintOf(x.raw), expected);
  t.equal(sha1ThumbprintOf(x), x.fingerprint.replace(/:/g, ''));
});
