import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { stat, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { runOutpost, tempDir } from '../fixtures/cli.js';
import { ca, initStore, CA_PASSWORD } from '../fixtures/ca-cli.js';
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

t.test('issued connector and listener certificates pass openssl verify -purpose', async (t) => {
  const { dir, root } = await initStore(t);
  const con = await ca(dir, ['issue', 'connector', '--name', 'master', '--make-default', '--key', 'rsa-2048']);
  t.equal(con.code, 0, con.stderr);
  const lis = await ca(dir, ['issue', 'listener', '--agent', 'agent-01', '--san', 'dns:localhost,ip:127.0.0.1', '--san', 'dns:agent-01.example.com', '--key', 'rsa-2048']);
  t.equal(lis.code, 0, lis.stderr);
  t.match(con.json.thumbprint, /^[0-9A-F]{64}$/);
  t.same(lis.json.sans, ['dns:localhost', 'ip:127.0.0.1', 'dns:agent-01.example.com']);
  const rootPath = root.json.certPath as string;
  t.equal((await openssl(['verify', '-CAfile', rootPath, '-purpose', 'sslclient', con.json.certPath as string])).code, 0);
  t.equal((await openssl(['verify', '-CAfile', rootPath, '-purpose', 'sslserver', lis.json.certPath as string])).code, 0);
  t.not((await openssl(['verify', '-CAfile', rootPath, '-purpose', 'sslserver', con.json.certPath as string])).code, 0);
  t.equal(await mode(con.json.keyPath as string), 0o600);
  const text = (await openssl(['x509', '-in', lis.json.certPath as string, '-noout', '-text'])).stdout;
  t.match(text, /TLS Web Server Authentication/);
  t.match(text, /Subject Key Identifier/);
  t.match(text, /Authority Key Identifier/);
  t.match(text, /CA:FALSE/);

  const list = await ca(dir, ['list']);
  t.equal(list.json.defaultRoot, root.json.thumbprint);
  t.equal(list.json.defaultConnector, con.json.thumbprint);
  t.equal((list.json.certificates as unknown[]).length, 3);
  const human = await runOutpost(['ca', 'list', '--ca-dir', dir]);
  t.match(human.stdout, new RegExp(`default connector ${con.json.thumbprint}`));

  const noSan = await ca(dir, ['issue', 'listener', '--agent', 'Agent 7', '--key', 'rsa-2048']);
  t.equal(noSan.errorCode, 'CA_PROFILE_INVALID', 'a listener needs a reachable name');
  const badSan = await ca(dir, ['issue', 'listener', '--agent', 'a', '--san', 'ip:300.1.1.1']);
  t.equal(badSan.errorCode, 'CA_INVALID_SAN');
  t.equal((await ca(dir, ['issue', 'connector', '--name', 'x/y'])).errorCode, 'CA_INVALID_NAME');
  t.equal((await ca(dir, ['issue', 'connector', '--name', 'x', '--key', 'rsa-1024'])).errorCode, 'CA_INVALID_KEY_SIZE');
  t.equal((await ca(dir, ['issue', 'connector', '--name', 'x', '--days', '0'])).errorCode, 'CA_INVALID_VALIDITY');
});

t.test('operator errors: one line with a code, a non-zero exit, a stack only with --debug', async (t) => {
  const { dir, work } = await initStore(t);
  const wrong = await runOutpost(['ca', 'issue', 'connector', '--name', 'm', '--ca-dir', dir], { env: { OUTPOST_CA_PASSWORD: 'not the passphrase' } });
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /^error CA_BAD_PASSPHRASE: /);
  t.notMatch(wrong.stderr, /\n\s+at /, 'no stack trace');
  const debug = await runOutpost(['--debug', 'ca', 'issue', 'connector', '--name', 'm', '--ca-dir', dir], { env: { OUTPOST_CA_PASSWORD: 'not the passphrase' } });
  t.match(debug.stderr, /\n\s+at /, 'stack trace with --debug');

  const pwFile = join(work, 'pw');
  await writeFile(pwFile, `${CA_PASSWORD}\n`, { mode: 0o600 });
  const fromFile = await runOutpost(['ca', 'issue', 'connector', '--name', 'm', '--key', 'rsa-2048', '--ca-dir', dir, '--password-file', pwFile], { env: { OUTPOST_CA_PASSWORD: '' } });
  t.equal(fromFile.code, 0, `--password-file works: ${fromFile.stderr}`);

  const env = { ...process.env };
  delete env.OUTPOST_CA_PASSWORD;
  const none = await runOutpost(['ca', 'crl', '--ca-dir', dir], { env });
  t.equal(none.code, 1);
  t.match(none.stderr, /CORE_SECRET_UNAVAILABLE: .*OUTPOST_CA_PASSWORD/, 'no TTY, no file, no env: says how to give it');

  t.equal((await ca(dir, ['crl', '--password-file', join(work, 'no-such-file')])).errorCode, 'CA_INPUT_UNREADABLE');
  t.equal((await ca(join(work, 'nowhere'), ['list'])).errorCode, 'CA_STORE_NOT_FOUND');
  await writeFile(join(dir, 'index.json'), '{"version":1,', { mode: 0o600 });
  t.equal((await ca(dir, ['list'])).errorCode, 'CA_STORE_CORRUPT');
  await chmod(dir, 0o755);
  t.equal((await ca(dir, ['list'])).errorCode, 'CA_STORE_INSECURE');
  t.equal((await ca(dir, ['revoke', 'AB'.repeat(32)])).errorCode, 'CA_STORE_INSECURE');
});

