import t from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, FAST, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore } from '../fixtures/ca-store.js';
import { tempDir } from '../fixtures/cli.js';
import { openssl } from '../fixtures/openssl.js';

const opensslEnv = { P12PW: P12_PASSWORD };

async function ecStore(t: Parameters<typeof tempDir>[0], key: string): Promise<{ dir: string; work: string; rootPath: string }> {
  const work = await tempDir(t, 'outpost-ca-ec-');
  const dir = join(work, 'store');
  const root = await ca(dir, ['init', '--key', key, '--cn', 'EC Outpost Root']);
  if (root.code !== 0) throw new Error(`ca init failed: ${root.stderr}`);
  return { dir, work, rootPath: root.json.certPath as string };
}

const text = async (path: string): Promise<string> => (await openssl(['x509', '-in', path, '-noout', '-text'])).stdout;

t.test('ca init --key ec-p256 makes a self-signed ECDSA root OpenSSL accepts', async (t) => {
  const s = await ecStore(t, 'ec-p256');
  const dump = await text(s.rootPath);
  t.match(dump, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(dump, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
  const v = await openssl(['verify', '-CAfile', s.rootPath, s.rootPath]);
  t.equal(v.code, 0, v.stderr);
  // RFC 5758 3.2: the ECDSA AlgorithmIdentifier has no parameters, not even NULL.
  const der = new X509Certificate(await readFile(s.rootPath)).raw;
  t.equal(der.indexOf(Buffer.from('06082a8648ce3d040302', 'hex')) >= 0, true, 'ecdsa-with-SHA256 OID present');
  t.equal(der.indexOf(Buffer.from('06082a8648ce3d0403020500', 'hex')), -1, 'no NULL after the ECDSA OID');
});

t.test('EC leaves from an EC root: issue, request/sign, openssl CSRs, renew; each verifies for its purpose', async (t) => {
  const s = await ecStore(t, 'ec-p384');
  t.match(await text(s.rootPath), /Signature Algorithm: ecdsa-with-SHA384[\s\S]*NIST CURVE: P-384/);

  const listener = await ca(s.dir, ['issue', 'listener', '--agent', 'gw-ec', '--san', 'dns:localhost,ip:127.0.0.1', '--key', 'ec-p256']);
  t.equal(listener.code, 0, listener.stderr);
  const ld = await text(listener.json.certPath as string);
  t.match(ld, /Signature Algorithm: ecdsa-with-SHA384/, 'signed with the P-384 root\'s hash');
  t.match(ld, /NIST CURVE: P-256/);
  t.match(ld, /Key Usage: critical\s+Digital Signature\n/, 'no Key Encipherment on an EC key');
  t.equal((await openssl(['verify', '-CAfile', s.rootPath, '-purpose', 'sslserver', listener.json.certPath as string])).code, 0);
  const key = createPrivateKey(await readFile(listener.json.keyPath as string));
  t.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.ok(new X509Certificate(await readFile(listener.json.certPath as string)).checkPrivateKey(key));

  const connector = await ca(s.dir, ['issue', 'connector', '--name', 'master-ec', '--key', 'ec-p384', '--make-default']);
  t.equal(connector.code, 0, connector.stderr);
  t.equal((await openssl(['verify', '-CAfile', s.rootPath, '-purpose', 'sslclient', connector.json.certPath as string])).code, 0);

  // ca request on the agent host, ca sign on the CA.
  const keyPath = join(s.work, 'agent.key');
  const csrPath = join(s.work, 'agent.csr');
  const req = await ca(s.dir, ['request', '--name', 'agent-ec', '--san', 'dns:agent-ec.example', '--key', 'ec-p256', '--out-key', keyPath, '--out-csr', csrPath]);
  t.equal(req.code, 0, req.stderr);
  const rv = await openssl(['req', '-in', csrPath, '-noout', '-verify', '-text']);
  t.equal(rv.code, 0, rv.stderr);
  t.match(rv.stdout, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(rv.stdout, /DNS:agent-ec.example/);
  const signed = await ca(s.dir, ['sign', csrPath, '--profile', 'listener']);
  t.equal(signed.code, 0, signed.stderr);
  t.same(signed.json.sans, ['dns:agent-ec.example']);
  t.equal((await openssl(['verify', '-CAfile', s.rootPath, '-purpose', 'sslserver', signed.json.certPath as string])).code, 0);

  // The SKI is what OpenSSL computes for the same key (SHA-1 of the EC point).
  const selfSigned = join(s.work, 'self.pem');
  t.equal((await openssl(['req', '-x509', '-key', keyPath, '-subj', '/CN=x', '-days', '1', '-out', selfSigned])).code, 0);
  const skiOf = async (p: string): Promise<string> => /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(await text(p))?.[1] ?? 'none';
  t.equal(await skiOf(signed.json.certPath as string), await skiOf(selfSigned));

  // EC CSRs made by openssl req: P-256 and P-384, with ECDSA signatures over SHA-256/384.
  for (const [curve, digest] of [['P-256', '-sha256'], ['P-384', '-sha384']] as const) {
    const p = join(s.work, `${curve}.csr`);
    const made = await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`, digest, '-nodes', '-keyout', join(s.work, `${curve}.key`), '-subj', `/CN=ossl-${curve}`, '-addext', 'subjectAltName=DNS:ossl.example', '-out', p]);
    t.equal(made.code, 0, made.stderr);
    const r = await ca(s.dir, ['sign', p, '--profile', 'connector']);
    t.equal(r.code, 0, r.stderr);
    t.equal((await openssl(['verify', '-CAfile', s.rootPath, '-purpose', 'sslclient', r.json.certPath as string])).code, 0, `openssl ${curve} CSR signed`);
  }

  // Renewal keeps the key type.
  const renewed = await ca(s.dir, ['renew', listener.json.thumbprint as string]);
  t.equal(renewed.code, 0, renewed.stderr);
  t.match(await text(renewed.json.certPath as string), /NIST CURVE: P-256/);
});

t.test('a CRL signed by an EC root passes openssl crl -verify and revokes in openssl verify -crl_check', async (t) => {
  const s = await ecStore(t, 'ec-p256');
  const leaf = await ca(s.dir, ['issue', 'connector', '--name', 'lost-laptop', '--key', 'ec-p256']);
  t.equal(leaf.code, 0, leaf.stderr);
  const revoked = await ca(s.dir, ['revoke', leaf.json.thumbprint as string, '--reason', 'keyCompromise']);
  t.equal(revoked.code, 0, revoked.stderr);
  const crlPath = join(s.work, 'root.crl');
  const crl = await ca(s.dir, ['crl', '--out', crlPath]);
  t.equal(crl.code, 0, crl.stderr);
  const cv = await openssl(['crl', '-in', crlPath, '-CAfile', s.rootPath, '-noout', '-verify', '-text']);
  t.equal(cv.code, 0, cv.stderr);
  t.match(cv.stderr + cv.stdout, /verify OK/);
  t.match(cv.stdout, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(cv.stdout, /Key Compromise/);
  const v = await openssl(['verify', '-crl_check', '-CAfile', s.rootPath, '-CRLfile', crlPath, leaf.json.certPath as string]);
  t.not(v.code, 0);
  t.match(v.stdout + v.stderr, /certificate revoked/);
});

t.test('mixed chains: an RSA root signs EC leaves and EC CSRs', async (t) => {
  const s = await populatedStore(t);
  const ec = await ca(s.dir, ['issue', 'listener', '--agent', 'gw', '--san', 'dns:gw.example', '--key', 'ec-p384']);
  t.equal(ec.code, 0, ec.stderr);
  const dump = await text(ec.json.certPath as string);
  t.match(dump, /Signature Algorithm: sha256WithRSAEncryption/);
  t.match(dump, /NIST CURVE: P-384/);
  t.equal((await openssl(['verify', '-CAfile', s.root.certPath, '-purpose', 'sslserver', ec.json.certPath as string])).code, 0);
  t.equal((await ca(s.dir, ['issue', 'connector', '--name', 'x', '--key', 'ec-p521'])).errorCode, 'CA_INVALID_KEY_SIZE');
});

t.test('EC keys round-trip through PKCS#12 (modern and --legacy) and encrypted PEM export and import', async (t) => {
  const s = await ecStore(t, 'ec-p256');
  const issued = await ca(s.dir, ['issue', 'connector', '--name', 'ec-master', '--key', 'ec-p256']);
  t.equal(issued.code, 0, issued.stderr);
  const original = createPrivateKey(await readFile(issued.json.keyPath as string));
  // export-root / import-root of an EC root: the standby signs with the same EC key, and trusts the
  // exports below.
  const rootFile = join(s.work, 'root.p12');
  t.equal((await ca(s.dir, ['export-root', '--out', rootFile, ...FAST])).code, 0);
  const standby = join(s.work, 'standby');
  const ir = await ca(standby, ['import-root', rootFile, '--make-default']);
  t.equal(ir.code, 0, ir.stderr);
  const fromStandby = await ca(standby, ['issue', 'listener', '--agent', 'sb', '--san', 'dns:sb', '--key', 'ec-p256']);
  t.equal(fromStandby.code, 0, fromStandby.stderr);
  t.equal((await openssl(['verify', '-CAfile', s.rootPath, fromStandby.json.certPath as string])).code, 0);

  for (const [file, extra, readArgs] of [
    ['m.p12', FAST, []],
    ['w.pfx', ['--legacy'], ['-legacy']],
    ['k.pem', FAST, null],
  ] as const) {
    const out = join(s.work, file);
    const exp = await ca(s.dir, ['export', issued.json.thumbprint as string, '--out', out, '--chain', ...extra]);
    t.equal(exp.code, 0, exp.stderr);
    if (readArgs) {
      const info = await openssl(['pkcs12', '-info', ...readArgs, '-in', out, '-noout', '-passin', 'env:P12PW'], { env: opensslEnv });
      t.equal(info.code, 0, info.stderr);
      const dump = await openssl(['pkcs12', ...readArgs, '-in', out, '-nodes', '-passin', 'env:P12PW'], { env: opensslEnv });
      const inFile = createPrivateKey(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/.exec(dump.stdout)?.[0] ?? '');
      t.ok(inFile.equals(original), `${file}: openssl reads the same EC key`);
    } else {
      const pk = await openssl(['pkey', '-in', out, '-passin', 'env:P12PW', '-noout', '-text'], { env: opensslEnv });
      t.equal(pk.code, 0, pk.stderr);
      t.match(pk.stdout, /NIST CURVE: P-256/);
    }
    const imported = await ca(standby, ['import', out]);
    t.equal(imported.code, 0, imported.stderr);
    t.equal(imported.json.thumbprint, issued.json.thumbprint);
    t.ok(createPrivateKey(await readFile(imported.json.keyPath as string)).equals(original), `${file}: import keeps the same key`);
  }

  // A key in OpenSSL's traditional "EC PRIVATE KEY" form imports too.
  const trad = join(s.work, 'trad.pem');
  const conv = await openssl(['ec', '-in', issued.json.keyPath as string, '-out', join(s.work, 'trad.key')]);
  t.equal(conv.code, 0, conv.stderr);
  const pemText = (await readFile(join(s.work, 'trad.key'), 'utf8')) + (await readFile(issued.json.certPath as string, 'utf8'));
  t.match(pemText, /BEGIN EC PRIVATE KEY/);
  await writeFile(trad, pemText);
  const tr = await ca(standby, ['import', trad]);
  t.equal(tr.code, 0, tr.stderr);
  t.equal(tr.json.thumbprint, issued.json.thumbprint);
});
