import t from 'tap';
import { stat } from 'node:fs/promises';
import { runOutpost } from '../fixtures/cli.js';
import { ca, initStore } from '../fixtures/ca-cli.js';
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
