import t from 'tap';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CredentialStore, checkCredentialUser } from '../../agent/credentials.js';
import { tempDir } from '../fixtures/cli.js';

t.test('add, list without secrets, resolve, remove', async (t) => {
  const path = join(await tempDir(t), 'credentials.json');
  const store = new CredentialStore(path);
  await store.add('db01-login', { user: 'batch', password: 'pa55 word' });
  await store.add('web-key', { user: 'deploy@EXAMPLE.COM', privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\n' });
  t.equal((await stat(path)).mode & 0o777, 0o600);
  const list = await store.list();
  t.same(list.map((c) => [c.key, c.user, c.kind]), [['db01-login', 'batch', 'password'], ['web-key', 'deploy@EXAMPLE.COM', 'privateKey']]);
  t.notMatch(JSON.stringify(list), /pa55/);
  t.same(await store.resolve('db01-login'), { key: 'db01-login', user: 'batch', password: 'pa55 word' });
  await t.rejects(store.add('db01-login', { user: 'x', password: 'y' }), { code: 'AGENT_CREDENTIAL_EXISTS' });
  await store.add('db01-login', { user: 'x', password: 'y' }, true);
  await store.remove('db01-login');
  await t.rejects(store.resolve('db01-login'), { code: 'AGENT_CREDENTIAL_UNKNOWN' });
  await t.rejects(store.remove('db01-login'), { code: 'AGENT_CREDENTIAL_UNKNOWN' });
  t.notOk(await store.has('db01-login'));
});

t.test('DOMAIN\\user is refused with advice to use user@DOMAIN', async (t) => {
  t.throws(() => checkCredentialUser('MYDOMAIN\\JOBUSER'), { code: 'AGENT_CREDENTIAL_BAD_USER', message: /JOBUSER@MYDOMAIN/ });
  t.throws(() => checkCredentialUser('a b'), { code: 'AGENT_CREDENTIAL_BAD_USER' });
  t.equal(checkCredentialUser('jobuser@MYDOMAIN'), 'jobuser@MYDOMAIN');
});

t.test('a store others can read is refused, not used', async (t) => {
  const path = join(await tempDir(t), 'credentials.json');
  const store = new CredentialStore(path);
  await store.add('k', { user: 'u', password: 'p' });
  await chmod(path, 0o644);
  await t.rejects(store.resolve('k'), { code: 'AGENT_CREDENTIAL_STORE_INSECURE', message: /644/ });
  await chmod(path, 0o600);
  t.equal((await store.resolve('k')).password, 'p');
  t.notMatch(await readFile(path, 'utf8'), /"kind"/);
  await t.rejects(store.add('bad key!', { user: 'u', password: 'p' }), { code: 'AGENT_CREDENTIAL_BAD_KEY' });
});
