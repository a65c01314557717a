/**
 * Only the gateway's user reaches the agent: a Unix socket 0660 with the gateway's group refuses other
 * local users at connect(); over TCP a request without the shared secret is refused; a non-loopback
 * listen address is refused at start.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmod, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';
import { ensureUser, groupGid, untracked } from '../fixtures/agent-users.js';
import { isRoot, runOutpost, tempDir } from '../fixtures/cli.js';

/** GET /healthz over the socket as another OS user, from a separate process running with that uid. */
function getAs(uid: number, gid: number, socketPath: string): Promise<string> {
  const script = `
    const http = require('node:http');
    http.get({ socketPath: ${JSON.stringify(socketPath)}, path: '/healthz' }, (res) => { console.log('status ' + res.statusCode); })
      .on('error', (e) => console.log('error ' + e.code));`;
  return new Promise((resolve) => {
    const child = spawn(...untracked([process.execPath, '-e', script]), { uid, gid, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(out.trim()));
  });
}

t.test('the socket is 0660 with the gateway group: its members get in, other users do not', { skip: isRoot ? false : 'needs root (creates OS users)' }, async (t) => {
  const gateway = await ensureUser('ot-agent-gw', ['ot-agent-gwgrp']);
  const stranger = await ensureUser('ot-agent-local');
  const dir = await tempDir(t, 'outpost-agent-access-');
  await chmod(dir, 0o711); // let other users reach the socket file itself; its mode decides the rest
  const agent = await startAgentProcess(t, { dir, config: { listen: { socket: join(dir, 'agent.sock'), group: 'ot-agent-gwgrp' } } });
  const info = await stat(agent.socket as string);
  t.equal(info.mode & 0o777, 0o660);
  t.equal(info.gid, groupGid('ot-agent-gwgrp'));
  t.equal(await getAs(gateway.uid, groupGid('ot-agent-gwgrp'), agent.socket as string), 'status 200', 'the gateway user connects');
  t.equal(await getAs(stranger.uid, stranger.gid, agent.socket as string), 'error EACCES', 'another local user is refused');
});

t.test('TCP on loopback: no secret or a wrong one is refused; the right one passes', async (t) => {
  const agent = await startAgentProcess(t, { tcp: true });
  t.ok(agent.port && agent.port > 0);
  const none = await agent.request('GET', '/v1/jobs', undefined, { 'x-outpost-secret': '' });
  t.equal(none.status, 401);
  t.equal(none.json().error?.code, 'AGENT_UNAUTHENTICATED');
  const wrong = await agent.request('POST', '/v1/jobs', { command: 'true' }, { 'x-outpost-secret': 'x'.repeat(48) });
  t.equal(wrong.status, 401);
  const right = await agent.request('GET', '/v1/jobs');
  t.equal(right.status, 200);
  const jobs = await agent.request('GET', '/v1/jobs');
  t.same(jobs.json().jobs, [], 'the refused POST created nothing');
});

t.test('non-loopback listen addresses are refused at start with a clear message', async (t) => {
  const dir = await tempDir(t, 'outpost-agent-listen-');
  const secretFile = join(dir, 'secret');
  await writeFile(secretFile, 'y'.repeat(40), { mode: 0o600 });
  for (const host of ['0.0.0.0', '::']) { // more addresses in test/agent/config.test.ts
    const config = join(dir, 'agent.yaml');
    await writeFile(config, `listen: { host: "${host}", port: 0, secretFile: ${secretFile} }\ndataDir: ${dir}/data\n`);
    const res = await runOutpost(['agent', 'start', '--config', config]);
    t.equal(res.code, 1, host);
    t.match(res.stderr, /AGENT_LISTEN_NOT_LOOPBACK/, host);
    t.match(res.stderr, /loopback/, host);
  }
});

t.test('a secret file others can read is refused, and bad config keys are named', async (t) => {
  const dir = await tempDir(t, 'outpost-agent-secret-');
  const secretFile = join(dir, 'secret');
  await writeFile(secretFile, 'y'.repeat(40));
  await chmod(secretFile, 0o644);
  const config = join(dir, 'agent.yaml');
  await writeFile(config, `listen: { host: 127.0.0.1, port: 0, secretFile: ${secretFile} }\ndataDir: ${dir}/data\n`);
  const res = await runOutpost(['agent', 'start', '--config', config]);
  t.equal(res.code, 1);
  t.match(res.stderr, /AGENT_SECRET_UNREADABLE/);
  await writeFile(config, `listen: { socket: ${dir}/s.sock }\ndataDir: relative\nmaxConcurrentJobs: 0\nfoo: 1\n`);
  const bad = await runOutpost(['agent', 'start', '--config', config]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /CORE_CONFIG_INVALID/);
  t.match(bad.stderr, /dataDir: must be an absolute path/);
  t.match(bad.stderr, /maxConcurrentJobs/);
  t.match(bad.stderr, /foo: unknown key/);
});
