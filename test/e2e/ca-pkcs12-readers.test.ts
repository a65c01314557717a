/**
 * What real readers show of our PKCS#12 exports, field by field, for modern (AES-256, PBKDF2-SHA256,
 * HMAC-SHA256) and --legacy (3DES, HMAC-SHA1) files: OpenSSL 3 `pkcs12 -info`, Java `keytool -list -v`,
 * Python `cryptography`. Windows cannot run here: its import wizard and certutil show the friendlyName bag
 * attribute as "Friendly Name", pair key and certificate by localKeyId, pick the key provider from a
 * Microsoft CSP-name attribute (we write none: the default provider), and import the chain. Those
 * attributes are asserted from OpenSSL's reading of the file's structure, and the friendlyName's
 * encoding (a BMPString, which Windows requires) byte for byte.
 * Readers that are not installed skip with a notice; scripts/test installs them when run as root.
 */
import t from 'tap';
import { spawnSync, execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ca, FAST, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore, type PopulatedStore } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';
import { repoRoot } from '../fixtures/cli.js';

const env = { P12PW: P12_PASSWORD };
const PYTHON = '/usr/bin/python3';
const hasKeytool = spawnSync('keytool', ['-help']).status === 0;
const hasPythonCryptography = spawnSync(PYTHON, ['-c', 'import cryptography.hazmat.primitives.serialization.pkcs12']).status === 0;

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Exported {
  file: string;
  leaf: X509Certificate;
  root: X509Certificate;
  /** SHA-1 of the leaf certificate: the localKeyId we write. */
  keyId: string;
}

async function exportBoth(t: Parameters<typeof populatedStore>[0]): Promise<{ s: PopulatedStore; files: Record<'modern' | 'legacy', Exported> }> {
  const s = await populatedStore(t);
  const leaf = new X509Certificate(await readFile(s.connector.certPath));
  const root = new X509Certificate(await readFile(s.root.certPath));
  const keyId = leaf.fingerprint.replace(/:/g, ' ');
  const files = {} as Record<'modern' | 'legacy', Exported>;
  for (const kind of ['modern', 'legacy'] as const) {
    const file = join(s.work, `${kind}.p12`);
    const r = await ca(s.dir, ['export', s.connector.thumbprint, '--out', file, '--chain', ...FAST, ...(kind === 'legacy' ? ['--legacy'] : [])]);
    if (r.code !== 0) throw new Error(r.stderr);
    files[kind] = { file, leaf, root, keyId };
  }
  return { s, files };
}

const ALGORITHMS = {
  modern: { mac: 'MAC: sha256, Iteration 2048', macLength: 'MAC length: 32, salt length: 16', pbe: 'PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256' },
  legacy: { mac: 'MAC: sha1, Iteration 2048', macLength: 'MAC length: 20, salt length: 8', pbe: 'pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048' },
} as const;

const { s, files } = await exportBoth(t);

for (const kind of ['modern', 'legacy'] as const) {
  const x = files[kind];
  const a = ALGORITHMS[kind];

  t.test(`${kind}: OpenSSL 3 pkcs12 -info (no -legacy needed: 3DES, not RC2)`, async (t) => {
    const r = await openssl(['pkcs12', '-info', '-nodes', '-in', x.file, '-passin', 'env:P12PW'], { env });
    t.equal(r.code, 0, r.code === 0 ? 'openssl read the file' : r.stderr);
    const out = r.stderr + r.stdout;
    const lines = out.split('\n').map((l) => l.trimEnd()).filter((l) => !/^[A-Za-z0-9+/=]{20,}$/.test(l) && !l.startsWith('-----'));
    t.same(lines.slice(0, 7), [a.mac, a.macLength, `PKCS7 Encrypted data: ${a.pbe}`, 'Certificate bag', 'Certificate bag', 'PKCS7 Data', `Shrouded Keybag: ${a.pbe}`]);
    t.same(lines.slice(7).filter((l) => l !== ''), [
      'Bag Attributes', `    localKeyID: ${x.keyId} `.trimEnd(), '    friendlyName: master', 'subject=CN = master', 'issuer=CN = Test Outpost Root',
      'Bag Attributes: <No Attributes>', 'subject=CN = Test Outpost Root', 'issuer=CN = Test Outpost Root',
      'Bag Attributes', `    localKeyID: ${x.keyId}`, '    friendlyName: master', 'Key Attributes: <No Attributes>',
    ], 'leaf with localKeyID and friendlyName, then the root without attributes, then the key with the same two');
    const pems = [...out.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]).fingerprint256);
    t.same(pems, [x.leaf.fingerprint256, x.root.fingerprint256], 'the exact certificates, leaf first');
    t.match(out, /-----BEGIN PRIVATE KEY-----/);
  });

  t.test(`${kind}: what Windows' import shows (friendly name, key pairing, provider, chain)`, async (t) => {
    const bytes = await readFile(x.file);
    // friendlyName as BMPString "master": 1E 0C 00 6D 00 61 00 73 00 74 00 65 00 72 (in the key's plain part).
    t.ok(bytes.includes(Buffer.from('1e0c006d00610073007400650072', 'hex')), 'friendlyName is a BMPString of the name (Windows "Friendly Name")');
    const r = await openssl(['pkcs12', '-info', '-nodes', '-in', x.file, '-passin', 'env:P12PW'], { env });
    const out = r.stderr + r.stdout;
    const ids = [...out.matchAll(/localKeyID: ([0-9A-F ]+)/g)].map((m) => m[1]?.trim());
    t.same(ids, [x.keyId, x.keyId], 'the key and the leaf certificate carry the same localKeyId ("You have a private key that corresponds to this certificate")');
    t.notMatch(out, /Microsoft CSP Name|Microsoft Local Key set/, 'no CSP/KSP attribute: Windows uses its default provider');
    t.equal((out.match(/Certificate bag/g) ?? []).length, 2, 'the chain (the root) travels with the leaf');
  });

  t.test(`${kind}: Java keytool -list -v`, { skip: hasKeytool ? false : 'keytool is not installed (Debian: default-jdk-headless)' }, async (t) => {
    const r = await run('keytool', ['-list', '-v', '-storetype', 'PKCS12', '-keystore', x.file, '-storepass:env', 'P12PW']);
    t.equal(r.code, 0, r.code === 0 ? 'keytool read the file' : r.stdout + r.stderr);
    const out = r.stdout;
    t.match(out, /Your keystore contains 1 entry/);
    t.match(out, /^Alias name: master$/m, 'alias from the friendlyName, as text');
    t.match(out, /^Entry type: PrivateKeyEntry$/m);
    t.match(out, /^Certificate chain length: 2$/m);
    const [first, second] = out.split(/^Certificate\[\d\]:$/m).slice(1);
    for (const [part, cert] of [[first, x.leaf], [second, x.root]] as const) {
      t.match(part, new RegExp(`^Owner: ${cert.subject.replace(/\n/g, ', ')}$`, 'm'));
      t.match(part, new RegExp(`^Issuer: ${cert.issuer.replace(/\n/g, ', ')}$`, 'm'));
      t.match(part, new RegExp(`^Serial number: ${cert.serialNumber.toLowerCase().replace(/^0+/, '')}$`, 'm'));
      t.ok(part?.includes(`SHA256: ${cert.fingerprint256}`), 'SHA-256 fingerprint');
      t.match(part, /Subject Public Key Algorithm: 2048-bit RSA key/);
    }
  });

  t.test(`${kind}: Python cryptography load_key_and_certificates / load_pkcs12`, { skip: hasPythonCryptography ? false : `${PYTHON} has no cryptography module (Debian: python3-cryptography)` }, async (t) => {
    const r = await run(PYTHON, [join(repoRoot, 'test/fixtures/readers/pkcs12_python.py'), x.file]);
    t.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    const cert = (c: X509Certificate, friendlyName: string | null) => ({
      subject: c.subject.replace(/\n/g, ','), issuer: c.issuer.replace(/\n/g, ','), serial: c.serialNumber.replace(/^0+/, ''),
      sha256: c.fingerprint256.replace(/:/g, ''), friendlyName,
    });
    t.same(got, {
      keyType: '_RSAPrivateKey',
      keySize: 2048,
      keyMatchesCert: true,
      cert: cert(x.leaf, null),
      additional: [cert(x.root, null)],
      pkcs12Cert: cert(x.leaf, 'master'),
      pkcs12Additional: [cert(x.root, null)],
    });
  });
}

t.test('the store the files came from', async (t) => {
  t.equal(files.modern.leaf.fingerprint256.replace(/:/g, ''), s.connector.thumbprint);
});
