import t from 'tap';
import { parseGatewayConfig } from '../../gateway/config.js';
import { coreError } from '../../core/errors.js';

const base = {
  tls: { cert: '/etc/outpost/gateway/listener.pem', key: '/etc/outpost/gateway/listener.key', ca: '/etc/outpost/gateway/ca.pem' },
  upstream: { socket: '/run/outpost/agent.sock' },
  access: [{ name: 'master', sources: ['192.0.2.10/32'], methods: ['GET', 'POST'] }],
};

t.test('ok: the documented example with defaults filled in and frozen', async (t) => {
  const c = parseGatewayConfig(base);
  t.same(c.listen, { host: '0.0.0.0', port: 8443 });
  t.equal(c.tls.requireClientCert, true, 'client certificates are required unless said otherwise');
  t.equal(c.tls.minVersion, 'TLSv1.2');
  t.equal(c.limits.maxHeaderBytes, 16384);
  t.equal(c.limits.checkIntervalMs, 1000);
  t.equal(c.auditLog, '-');
  t.ok(Object.isFrozen(c.access[0]));
  t.same(parseGatewayConfig({ ...base, access: [{ name: 'm', sources: ['10.0.0.0/8'] }] }).access[0]?.methods, ['GET'], 'a rule without methods is read-only');
});

t.test('ok: a TCP upstream needs its secret file', async (t) => {
  t.ok(parseGatewayConfig({ ...base, upstream: { host: '127.0.0.1', port: 7411, secretFile: '/etc/outpost/agent.secret' } }));
  t.throws(() => parseGatewayConfig({ ...base, upstream: { host: '127.0.0.1', port: 7411 } }), /upstream/);
  t.throws(() => parseGatewayConfig({ ...base, upstream: { host: '10.0.0.5', port: 7411, secretFile: '/x' } }), /upstream/, 'only loopback');
});

t.test('fail: every bad key reported with its path in one error', async (t) => {
  const err = t.throws(() =>
    parseGatewayConfig({
      ...base,
      listen: { host: '0.0.0.0', port: 99999 },
      tls: { ...base.tls, verify: false },
      access: [{ name: 'bad name!', sources: [], methods: ['DELETE'] }],
      extra: 1,
    }, 'gateway.yaml'),
  ) as Error;
  t.ok(coreError.is(err, 'CORE_CONFIG_INVALID'));
  for (const path of ['listen.port', 'tls.verify: unknown key', 'access[0].name', 'access[0].sources', 'access[0].methods[0]', 'extra: unknown key']) {
    t.match(err.message, path, path);
  }
});

t.test('fail: an empty policy is refused (it would deny everything)', async (t) => {
  t.throws(() => parseGatewayConfig({ ...base, access: [] }), /access: at least one rule/);
});

t.test('admin rules: default false; fail: an admin rule that pins no client', async (t) => {
  t.equal(parseGatewayConfig(base).access[0]?.admin, false, 'rules are not admin unless said so');
  t.equal(parseGatewayConfig({ ...base, access: [{ name: 'a', sources: ['192.0.2.10/32'], clients: { subjects: ['CN=master'] }, admin: true }] }).access[0]?.admin, true);
  const err = t.throws(() => parseGatewayConfig({ ...base, access: [{ name: 'a', sources: ['192.0.2.10/32'], admin: true }] }, 'gateway.yaml')) as Error;
  t.ok(coreError.is(err, 'CORE_CONFIG_INVALID'));
  t.match(err.message, 'access[0].admin: an admin rule must pin its clients');
});

t.test('auditRateLimit: 60 s by default, 0 switches it off, a bad value is named by its path', async (t) => {
  t.same(parseGatewayConfig(base).auditRateLimit, { intervalSeconds: 60 });
  t.same(parseGatewayConfig({ ...base, auditRateLimit: { intervalSeconds: 0 } }).auditRateLimit, { intervalSeconds: 0 });
  for (const bad of [{ intervalSeconds: -1 }, { intervalSeconds: 1.5 }, { intervalSeconds: '60' }, { intervalSeconds: 86_401 }]) {
    t.throws(() => parseGatewayConfig({ ...base, auditRateLimit: bad }), /auditRateLimit\.intervalSeconds/, JSON.stringify(bad));
  }
  t.throws(() => parseGatewayConfig({ ...base, auditRateLimit: { maxSources: 5 } }), /auditRateLimit\.maxSources: unknown key/);
});
