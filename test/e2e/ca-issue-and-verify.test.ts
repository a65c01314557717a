import t from 'tap';
import { stat, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { runOutpost } from '../fixtures/cli.js';
import { ca, initStore, CA_PASSWORD } from '../fixtures/ca-cli.js';
import { openssl } from '../fixtures/openssl.js';

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

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
});

