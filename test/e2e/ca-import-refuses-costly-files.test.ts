/**
 * `ca import` / `ca import-root` bound the key-derivation work a file may ask for: a few kilobytes can
 * declare minutes of PBKDF2. The refusal comes before any key is derived (the unit test counts the
 * derivations); here the real CLI, OpenSSL-made files and the --max-iterations escape hatch.
 */
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore, standbyOf, exportFast } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';
import { hostilePkcs12, hostileEncryptedKeyPem } from '../fixtures/hostile-pkcs12.js';

const pass = { OUTPOST_P12_PASSWORD: P12_PASSWORD };

t.test('a file declaring 510 M iterations is refused with CA_PKCS12_TOO_COSTLY by import and import-root', async (t) => {
  const s = await populatedStore(t);
  const standbyDir = await standbyOf(s);
  const hostile = join(s.work, 'hostile.p12');
  await writeFile(hostile, hostilePkcs12({ parts: 50, iterations: 10_000_000, macIterations: 10_000_000 }));
  for (const cmd of ['import', 'import-root']) {
    const r = await ca(join(s.work, cmd === 'import' ? 'standby' : 'fresh'), [cmd, hostile], pass);
    t.equal(r.errorCode, 'CA_PKCS12_TOO_COSTLY', `${cmd}: ${r.stderr}`);
    t.match(r.stderr, /510,000,000 key-derivation iterations .*limit of 3,000,000/, `${cmd}: says how much and the limit`);
  }
  t.ok(standbyDir);
});

t.test('an OpenSSL file over the default limit is refused; --max-iterations moves the limit both ways', async (t) => {
  const s = await populatedStore(t);
  const standbyDir = await standbyOf(s);
  const conKey = join(s.dir, 'keys', `${s.connector.thumbprint}.key`);
  const heavy = join(s.work, 'heavy.p12');
  // OpenSSL 3: -iter sets the count of both parts and the MAC: 3 × 1,100,000.
  const made = await openssl(['pkcs12', '-export', '-iter', '1100000', '-inkey', conKey, '-in', s.connector.certPath, '-out', heavy, '-passout', 'env:P12PW'], { env: { P12PW: P12_PASSWORD } });
  t.equal(made.code, 0, made.stderr);
  const refused = await ca(standbyDir, ['import', heavy], pass);
  t.equal(refused.errorCode, 'CA_PKCS12_TOO_COSTLY', refused.stderr);
  t.match(refused.stderr, /3,300,000 key-derivation iterations \(MAC 1,100,000 \+ 2 encrypted parts 2,200,000\)/);
  t.match(refused.stderr, /--max-iterations 3300000/, 'the refusal names the escape hatch and the value it needs');
  // The hatch itself, on a file that is cheap to open on a loaded machine: OpenSSL's default 3 × 2,048.
  const usual = join(s.work, 'usual.p12');
  t.equal((await openssl(['pkcs12', '-export', '-inkey', conKey, '-in', s.connector.certPath, '-out', usual, '-passout', 'env:P12PW'], { env: { P12PW: P12_PASSWORD } })).code, 0);
  const below = await ca(standbyDir, ['import', usual, '--max-iterations', '6143'], pass);
  t.equal(below.errorCode, 'CA_PKCS12_TOO_COSTLY', 'a lower limit refuses OpenSSL\'s default file');
  t.match(below.stderr, /6,144 key-derivation iterations/);
  const ok = await ca(standbyDir, ['import', usual, '--max-iterations', '6144'], pass);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.json.thumbprint, s.connector.thumbprint);
  for (const bad of ['0', '-5', '1e9', 'lots', '3.5']) {
    t.equal((await ca(standbyDir, ['import', usual, '--max-iterations', bad], pass)).errorCode, 'CORE_USAGE', `--max-iterations ${bad}`);
  }
});

t.test('PEM imports: one key only, and its iterations within the limit, before anything is decrypted', async (t) => {
  const s = await populatedStore(t);
  const standbyDir = await standbyOf(s);
  const pemFile = join(s.work, 'con.pem');
  await (await import('../../ca/transfer.js')).exportCert(s.store, s.connector.thumbprint, { out: pemFile, iterations: 2048, password: async () => P12_PASSWORD });
  const pem = await readFile(pemFile, 'utf8');
  const heavy = join(s.work, 'heavy.pem');
  await writeFile(heavy, pem.replace(/-----BEGIN ENCRYPTED PRIVATE KEY-----[\s\S]*$/, hostileEncryptedKeyPem(50_000_000)));
  const r = await ca(standbyDir, ['import', heavy], pass);
  t.equal(r.errorCode, 'CA_PKCS12_TOO_COSTLY', r.stderr);
  t.match(r.stderr, /50,000,000 key-derivation iterations \(the encrypted private key\)/);
  const many = join(s.work, 'many.pem');
  await writeFile(many, pem + Array.from({ length: 20 }, () => hostileEncryptedKeyPem(5_000_000)).join(''));
  t.equal((await ca(standbyDir, ['import', many], pass)).errorCode, 'CA_IMPORT_NO_KEY', 'several keys: refused before decrypting any');
  t.equal((await ca(standbyDir, ['import', pemFile], pass)).code, 0, 'the export itself imports');
});

t.test('our own p12 export still imports (export and import agree on the limit)', async (t) => {
  const s = await populatedStore(t);
  const standbyDir = await standbyOf(s);
  const p12 = await exportFast(s, s.connector.thumbprint, join(s.work, 'c.p12'));
  t.equal((await ca(standbyDir, ['import', p12], pass)).code, 0);
  const tooMany = await ca(s.dir, ['export', s.connector.thumbprint, '--out', join(s.work, 'x.p12'), '--iterations', '1000001'], pass);
  t.equal(tooMany.errorCode, 'CORE_USAGE', 'an export the default import limit would refuse is not written');
});
