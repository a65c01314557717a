/**
 * Privilege separation with real OS users (the gateway's user and the agent's user): scripts/install creates the users,
 * directories and units (twice: it is idempotent); the agent's user cannot read the gateway's key or
 * config; the socket directory hands the agent's socket to the gateway's group; the gateway runs as its
 * own user end to end and refuses a key owned by someone else.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmod, copyFile, chown, stat, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { stringify } from 'yaml';
import { cliPath, isRoot, repoRoot, tempDir } from '../fixtures/cli.js';
import { createTestPki } from '../fixtures/pki.js';
import { call, run } from '../fixtures/gateway-client.js';
import { untracked } from '../fixtures/agent-users.js';

const GW = 'ot-gateway-gw';
const AGENT = 'ot-gateway-agent';
const install = join(repoRoot, 'scripts', 'install');

const skip = !isRoot ? 'needs root (creates OS users)' : false;

t.test('scripts/install and privilege separation with real users', { skip }, async (t) => {
  const root = await tempDir(t, 'outpost-install-');
  await chmod(root, 0o755); // the test users must traverse it, as they would traverse /
  const args = ['--gw-user', GW, '--agent-user', AGENT, '--job-user', 'ot-gateway-job', '--root', root, '--bin', '/usr/local/bin/outpost', '--no-systemctl'];
  const first = await run(install, args);
  t.equal(first.code, 0, first.stderr);
  const again = await run(install, args);
  t.equal(again.code, 0, 'a second run succeeds (idempotent)');
  t.notMatch(again.stdout, /created user/, 'and creates nothing twice');

  const uid = async (name: string) => Number((await run('id', ['-u', name])).stdout.trim());
  const gid = async (name: string) => Number((await run('id', ['-g', name])).stdout.trim());
  const gwUid = await uid(GW);
  const gwGid = await gid(GW);
  const agentUid = await uid(AGENT);
  const expect: [string, number, number, number][] = [
    ['etc/outpost/gateway', gwUid, gwGid, 0o700],
    ['etc/outpost/agent', agentUid, await gid(AGENT), 0o700],
    ['var/lib/outpost/agent', agentUid, await gid(AGENT), 0o700],
    ['run/outpost', agentUid, gwGid, 0o2750],
    ['var/log/outpost', gwUid, gwGid, 0o750],
  ];
  for (const [p, u, g, mode] of expect) {
    const st = await stat(join(root, p));
    t.same([st.uid, st.gid, st.mode & 0o7777], [u, g, mode], `${p} owner, group and mode`);
  }
  const unit = await readFile(join(root, 'etc/systemd/system/outpost-gateway.service'), 'utf8');
  for (const line of [`User=${GW}`, 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'ReadWritePaths=/var/log/outpost']) {
    t.match(unit, line);
  }
  t.match(await readFile(join(root, 'etc/systemd/system/outpost-agent.service'), 'utf8'), /User=ot-gateway-agent[\s\S]*KillMode=process/);
  if (existsSync('/usr/bin/systemd-analyze')) {
    const v = await run('systemd-analyze', ['verify', join(root, 'etc/systemd/system/outpost-gateway.service')]);
    t.notMatch(v.stdout + v.stderr, /Unknown (key|section)|Failed to parse|Invalid/, 'systemd-analyze verify finds no bad keys');
  }
  // The audit log's rotation: rendered for these users, and accepted by logrotate itself where it is installed.
  const rotation = join(root, 'etc/logrotate.d/outpost');
  const rotate = await readFile(rotation, 'utf8');
  t.match(rotate, /^\/var\/log\/outpost\/audit\.log \{$/m, 'logrotate: the audit log');
  for (const line of [`create 0600 ${GW} ${GW}`, `su ${GW} ${GW}`, 'systemctl kill --kill-who=main --signal=SIGUSR1 outpost-gateway.service', 'systemctl kill --kill-who=main --signal=SIGUSR1 nginx.service']) t.match(rotate, line);
  t.notMatch(rotate, /@[A-Z_]+@/, 'every placeholder rendered');
  t.equal((await stat(rotation)).mode & 0o777, 0o644, 'logrotate reads only files others cannot write');
  const logrotate = ['/usr/sbin/logrotate', '/usr/bin/logrotate'].find((p) => existsSync(p));
  if (logrotate) {
    const d = await run(logrotate, ['--debug', '--state', join(root, 'logrotate.state'), rotation]);
    t.equal(d.code, 0, 'logrotate --debug accepts the file');
    t.notMatch(d.stdout + d.stderr, /error:/, 'and reports no error');
  }

  // The gateway's files, placed as an operator would, then owners fixed by running install again.
  const pkiDir = await tempDir(t, 'outpost-install-pki-');
  const pki = await createTestPki(pkiDir);
  const listener = await pki.issueListener({ name: 'localhost' });
  const master = await pki.issueConnector({ name: 'master' });
  const gwDir = join(root, 'etc/outpost/gateway');
  const sock = join(root, 'run/outpost/agent.sock');
  await copyFile(listener.certPath, join(gwDir, 'listener.pem'));
  await copyFile(listener.keyPath, join(gwDir, 'listener.key'));
  await copyFile(pki.caCertPath, join(gwDir, 'ca.pem'));
  await writeFile(join(gwDir, 'gateway.yaml'), stringify({
    listen: { host: '127.0.0.1', port: 0 },
    tls: { cert: join(gwDir, 'listener.pem'), key: join(gwDir, 'listener.key'), ca: join(gwDir, 'ca.pem') },
    upstream: { socket: sock },
    access: [{ name: 'master', sources: ['127.0.0.2/32'], methods: ['GET', 'POST'] }],
    auditLog: join(root, 'var/log/outpost/audit.log'),
  }));
  t.equal((await run(install, args)).code, 0);
  t.equal((await stat(join(gwDir, 'listener.key'))).mode & 0o777, 0o600);

  const as = (user: string, cmd: string[]) => run('runuser', ['-u', user, '--', ...untracked(cmd).flat()]);
  t.test('the agent user cannot read the key or the gateway config; the gateway user can', async (t) => {
    for (const f of ['listener.key', 'gateway.yaml']) {
      const r = await as(AGENT, ['cat', join(gwDir, f)]);
      t.not(r.code, 0, `agent cannot read ${f}`);
      t.match(r.stderr, /Permission denied/);
    }
    t.not((await as(AGENT, ['ls', gwDir])).code, 0, 'agent cannot even list the directory');
    t.equal((await as(GW, ['cat', join(gwDir, 'listener.key')])).code, 0, 'gateway reads its key');
    t.not((await as(GW, ['cat', join(root, 'etc/outpost/agent/.')])).code, 0);
  });

  t.test('end to end as the real users: agent socket → gateway → client', async (t) => {
    const agent = spawn('runuser', ['-u', AGENT, '--', ...untracked([process.execPath, '-e', `
      const fs = require('fs'); const p = ${JSON.stringify(sock)};
      require('http').createServer((q, s) => s.end('from the agent as ' + require('os').userInfo().username))
        .listen(p, () => { fs.chmodSync(p, 0o660); console.log('ready'); });`]).flat()], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => { agent.kill('SIGTERM'); });
    await new Promise<void>((resolve) => agent.stdout.once('data', () => resolve()));
    const st = await stat(sock);
    t.equal(st.gid, gwGid, 'the socket inherited the gateway group from the setgid directory');
    t.not((await as('nobody', ['curl', '-sS', '--unix-socket', sock, 'http://agent/'])).code, 0, 'another local user cannot reach the agent');

    const gw = spawn('runuser', ['-u', GW, '--', ...untracked([process.execPath, cliPath, 'gateway', 'start', '--config', join(gwDir, 'gateway.yaml')]).flat()], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => { gw.kill('SIGTERM'); });
    let out = '';
    gw.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    gw.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const until = Date.now() + 15_000;
    while (!/listening on https:\/\/[^ ]+:\d+/.test(out) && Date.now() < until && gw.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    const port = Number(/listening on https:\/\/[^ ]+:(\d+)/.exec(out)?.[1]);
    t.ok(port > 0, `gateway started as ${GW}: ${out.split('\n')[0]}`);
    const r = await call({ port, ca: pki.caCertPem, from: '127.0.0.2', cert: master, path: '/' });
    t.equal(r.status, 200);
    t.equal(r.body, `from the agent as ${AGENT}`);
    t.ok((await stat(join(root, 'var/log/outpost/audit.log'))).uid === gwUid, 'audit log written by the gateway user');
  });

  t.test('the gateway refuses a key it does not own', async (t) => {
    await chown(join(gwDir, 'listener.key'), 0, 0);
    t.teardown(() => chown(join(gwDir, 'listener.key'), gwUid, gwGid));
    const r = await as(GW, [process.execPath, cliPath, 'gateway', 'start', '--config', join(gwDir, 'gateway.yaml')]);
    t.equal(r.code, 1);
    t.match(r.stderr, /GATEWAY_KEY_PERMISSIONS: tls\.key .* is owned by uid 0, not by the gateway's user/);
  });
});
