import t from 'tap';
import { isLoopbackHost, parseAgentConfig } from '../../agent/config.js';

const base = { listen: { socket: '/run/outpost/agent.sock' }, dataDir: '/var/lib/outpost/agent' };

t.test('ok: defaults fill in and the result is frozen', async (t) => {
  const c = parseAgentConfig(base);
  t.equal(c.maxConcurrentJobs, 16);
  t.equal(c.queueLimit, 1000);
  t.equal(c.maxOutputBytes, 64 * 1024 * 1024);
  t.equal(c.minFreeBytes, 256 * 1024 * 1024);
  t.same(c.interpreterWhitelist, ['/bin/sh', '/bin/bash']);
  t.same(c.runAs, { method: 'sudo', allowedUsers: [] });
  t.equal('mode' in c.listen && c.listen.mode, 0o660);
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.listen));
});

t.test('fail/non-loopback: refused with a clear message', async (t) => {
  for (const host of ['0.0.0.0', '10.0.0.1', '::', 'localhost.example.com', '::ffff:10.0.0.1']) {
    t.throws(() => parseAgentConfig({ ...base, listen: { host, port: 7411, secretFile: '/etc/outpost/agent.secret' } }), {
      code: 'AGENT_LISTEN_NOT_LOOPBACK',
      message: /not a loopback address/,
    }, host);
  }
  for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(host), host);
});

t.test('fail/keys: every bad key is named by its path', async (t) => {
  const err = t.throws(() =>
    parseAgentConfig({
      ...base,
      maxConcurrentJobs: 0,
      surprise: true,
      runAs: { method: 'doas', allowedUsers: ['ok', 'BAD\\user'] },
      listen: { socket: 'relative.sock', mode: 0o660, extra: 1 },
      processServers: [{ name: 'db01', remoteHostName: 'db01', port: 22, interpreterWhitelist: ['/bin/sh'] }],
    }),
  ) as unknown as { code: string; message: string };
  t.equal(err.code, 'CORE_CONFIG_INVALID');
  t.match(err.message, /maxConcurrentJobs/);
  t.match(err.message, /surprise: unknown key/);
  t.match(err.message, /runAs\.method/);
  t.match(err.message, /runAs\.allowedUsers\[1\]/);
  t.match(err.message, /processServers\[0\]: needs hostKey or knownHostsFile/);
});

t.test('fail/tcp: a TCP listener needs a secretFile', async (t) => {
  t.throws(() => parseAgentConfig({ ...base, listen: { host: '127.0.0.1', port: 7411 } }), { code: 'CORE_CONFIG_INVALID' });
});

t.test('ok: process servers as the SSH executor expects them', async (t) => {
  const c = parseAgentConfig({
    ...base,
    processServers: [{ name: 'db01', remoteHostName: 'db01.example.com', hostKey: 'SHA256:abc', credentialKey: 'db01-login' }],
  });
  t.match(c.processServers[0], { name: 'db01', port: 22, interpreterWhitelist: ['/bin/sh'], maxSessions: 10, maxConnections: 8 });
  const tuned = parseAgentConfig({ ...base, processServers: [{ name: 'db02', remoteHostName: 'db02', hostKey: 'SHA256:abc', maxSessions: 4, maxConnections: 2 }] });
  t.match(tuned.processServers[0], { maxSessions: 4, maxConnections: 2 });
  t.throws(() => parseAgentConfig({ ...base, processServers: [{ name: 'db03', remoteHostName: 'db03', hostKey: 'SHA256:abc', maxSessions: 0 }] }), {
    code: 'CORE_CONFIG_INVALID',
    message: /processServers\[0\]\.maxSessions/,
  });
});

t.test('fail/semantics: defaultUser outside allowedUsers, duplicate process servers', async (t) => {
  t.throws(() => parseAgentConfig({ ...base, runAs: { allowedUsers: ['batch'], defaultUser: 'root' } }), {
    code: 'CORE_CONFIG_INVALID',
    message: /runAs\.defaultUser: root must also be in runAs\.allowedUsers/,
  });
  const server = { name: 'db01', remoteHostName: 'db01', hostKey: 'SHA256:x' };
  t.throws(() => parseAgentConfig({ ...base, processServers: [server, server] }), { code: 'CORE_CONFIG_INVALID', message: /two entries are named db01/ });
});
