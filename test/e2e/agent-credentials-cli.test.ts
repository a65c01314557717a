/**
 * `outpost agent credentials add|list|remove` as a real CLI: secrets only from files, never printed,
 * store 0600, JS7-style errors; a job naming an unknown credentialKey is refused by the running agent.
 */
import t from 'tap';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOutpost, tempDir } from '../fixtures/cli.js';
import { startAgentProcess } from '../fixtures/agent.js';

t.test('add, list, remove through the CLI', async (t) => {
  const dir = await tempDir(t);
  const config = join(dir, 'agent.yaml');
  await writeFile(config, `listen: { socket: ${dir}/a.sock }\ndataDir: ${dir}/data\n`);
  const pw = join(dir, 'pw');
  await writeFile(pw, 'top secret pw\n', { mode: 0o600 });
  const add = await runOutpost(['agent', 'credentials', 'add', 'db01-login', '--config', config, '--user', 'batch', '--password-file', pw]);
  t.equal(add.code, 0, add.stderr);
  t.notMatch(add.stdout + add.stderr, /top secret/);
  const file = join(dir, 'data', 'credentials.json');
  t.equal((await stat(file)).mode & 0o777, 0o600);
  t.match(await readFile(file, 'utf8'), /"password": "top secret pw"/, 'first line of the file, without the newline');

  const list = await runOutpost(['agent', 'credentials', 'list', '--config', config, '--json']);
  t.equal(list.code, 0);
  t.match(JSON.parse(list.stdout), [{ key: 'db01-login', user: 'batch', kind: 'password' }]);
  t.notMatch(list.stdout, /top secret/);

  const domain = await runOutpost(['agent', 'credentials', 'add', 'win', '--config', config, '--user', 'MYDOMAIN\\JOBUSER', '--password-file', pw]);
  t.equal(domain.code, 1);
  t.match(domain.stderr, /AGENT_CREDENTIAL_BAD_USER/);
  t.match(domain.stderr, /JOBUSER@MYDOMAIN/);

  const neither = await runOutpost(['agent', 'credentials', 'add', 'x', '--config', config, '--user', 'u']);
  t.equal(neither.code, 1);
  t.match(neither.stderr, /AGENT_CREDENTIAL_SECRET_MISSING/);

  const unknown = await runOutpost(['agent', 'credentials', 'remove', 'nope', '--config', config]);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /AGENT_CREDENTIAL_UNKNOWN/);
  t.equal((await runOutpost(['agent', 'credentials', 'remove', 'db01-login', '--config', config])).code, 0);
  t.match((await runOutpost(['agent', 'credentials', 'list', '--config', config])).stdout, /no credentials/);
});

t.test('a job naming an unknown credentialKey is refused', async (t) => {
  const agent = await startAgentProcess(t, {
    config: { processServers: [{ name: 'db01', remoteHostName: '127.0.0.1', port: 22, hostKey: 'SHA256:' + 'A'.repeat(43) }] },
  });
  const res = await agent.request('POST', '/v1/jobs', { command: 'true', processServer: 'db01', credentialKey: 'missing' });
  t.equal(res.status, 400);
  t.equal(res.json().error?.code, 'AGENT_CREDENTIAL_UNKNOWN');
  const local = await agent.request('POST', '/v1/jobs', { command: 'true', credentialKey: 'missing' });
  t.equal(local.status, 400);
  const status = (await agent.request('GET', '/v1/status')).json() as { processServers: { name: string }[] };
  t.equal(status.processServers[0]?.name, 'db01', 'the process server is listed in status, available or not');
});
