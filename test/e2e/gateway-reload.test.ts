/**
 * Reload without dropping connections: a certificate revoked after start is refused once the front
 * reloads on SIGHUP (both fronts) or notices the CRL file changed (gateway); SIGHUP under load fails no
 * request; a bad reload keeps the previous state. Also what stops a start: a key readable by others and a
 * bad access rule (reported with its path); the freshness signals (CRL nextUpdate warning, metrics); and the
 * V8 flags the daemon runs with.
 */
import t from 'tap';
import https from 'node:https';
import { chmod, readFile } from 'node:fs/promises';
import { createBed, FRONTS, frontSkip, MASTER_IP, MONITOR_IP, startFront, startGatewayFront, auditLine } from '../fixtures/gateway.js';
import { call } from '../fixtures/gateway-client.js';
import { runOutpost } from '../fixtures/cli.js';
import { waitFor } from '../fixtures/wait.js';
import { GATEWAY_V8_FLAGS } from '../../gateway/heap-settings.js';

// One test bed for the file (certificates are slow to make on a busy machine); each test that revokes
// uses a fresh monitor certificate (pinned by subject, so any CN=monitor passes the policy), and each
// test that changes gateway.yaml puts the original back.
const bed = await createBed(t);
const original = structuredClone(bed.config);
const restore = async () => {
  for (const k of Object.keys(bed.config)) delete bed.config[k];
  Object.assign(bed.config, structuredClone(original));
  await bed.writeConfig();
};

for (const kind of FRONTS) {
  t.test(`${kind}: a certificate revoked after start is refused after SIGHUP`, { skip: frontSkip(kind) }, async (t) => {
    const front = await startFront(t, bed, kind);
    const monitor = await bed.pki.issueConnector({ name: 'monitor' });
    const ask = () => call({ port: front.port, ca: bed.pki.caCertPem, from: MONITOR_IP, cert: monitor });
    t.equal((await ask()).status, 200, 'allowed before revocation');
    bed.pki.revoke(monitor.thumbprint);
    await bed.pki.writeCrl();
    await front.reload();
    const r = await ask();
    t.ok(r.error !== undefined || (r.status ?? 0) >= 400, `refused after reload (${r.status ?? r.error})`);
    if (kind === 'gateway') t.ok(await auditLine(front, (l) => l.reason === 'CERT_REVOKED' && l.thumbprint === monitor.thumbprint), 'audited CERT_REVOKED');
  });
}

t.test('gateway: a changed CRL file is picked up without a signal', async (t) => {
  const front = await startGatewayFront(t, bed);
  const monitor = await bed.pki.issueConnector({ name: 'monitor' });
  const ask = () => call({ port: front.port, ca: bed.pki.caCertPem, from: MONITOR_IP, cert: monitor });
  t.equal((await ask()).status, 200);
  bed.pki.revoke(monitor.thumbprint);
  await bed.pki.writeCrl();
  const until = Date.now() + 10_000;
  let r = await ask();
  while (r.status === 200 && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 200));
    r = await ask();
  }
  t.not(r.status, 200, 'refused once the file change was noticed');
  // The refusal can reach us before the log line that announced the reload: wait for the line.
  await waitFor(() => /"trigger":"file changed: [^"]*crl/.test(front.output()), 10_000, 'the reload line').catch(() => undefined);
  t.match(front.output(), /"trigger":"file changed: [^"]*crl/);
});

t.test('gateway: SIGHUP under load fails no request', async (t) => {
  const front = await startGatewayFront(t, bed);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8, localAddress: MASTER_IP, ca: bed.pki.caCertPem, cert: bed.certs.master.certPem, key: bed.certs.master.keyPem } as https.AgentOptions);
  t.teardown(() => agent.destroy());
  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const r = await new Promise<string>((resolve) => {
        const req = https.request({ host: '127.0.0.1', port: front.port, servername: 'localhost', path: '/echo', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
        });
        req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
        req.end();
      });
      if (r === '200') ok++;
      else failures.push(r);
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 300));
    await front.reload();
  }
  await new Promise((r) => setTimeout(r, 300));
  running = false;
  await Promise.all(workers);
  t.same(failures, [], 'no request failed');
  t.ok(ok > 20, `${ok} requests succeeded across 3 reloads`);
  t.equal((front.output().match(/"message":"reloaded/g) ?? []).length, 3);
});

t.test('gateway: a bad reload keeps the previous configuration', async (t) => {
  t.teardown(restore);
  const front = await startGatewayFront(t, bed);
  const access = bed.config.access as { sources: string[] }[];
  access[0]!.sources = ['10.0.0.300/8'];
  await bed.writeConfig();
  await front.reload();
  const line = front.output().split('\n').find((l) => l.includes('reload failed'));
  t.match(JSON.parse(line ?? '{}'), { code: 'GATEWAY_POLICY_INVALID', err: /access\[0\]\.sources\[0\]/, message: /still serving with the previous configuration/ });
  t.equal((await call({ port: front.port, ca: bed.pki.caCertPem, from: MASTER_IP, cert: bed.certs.master })).status, 200);
});

t.test('gateway: start is refused', async (t) => {
  t.teardown(restore);
  const start = () => runOutpost(['gateway', 'start', '--config', bed.configPath], { timeoutMs: 20_000 });
  t.test('when the key is readable by other users', async (t) => {
    await chmod(bed.certs.listener.keyPath, 0o640);
    t.teardown(() => chmod(bed.certs.listener.keyPath, 0o600));
    const r = await start();
    t.equal(r.code, 1);
    t.match(r.stderr, /GATEWAY_KEY_PERMISSIONS: tls\.key .* has mode 0640/);
    t.match(r.stderr, /chmod 600/);
  });
  t.test('when an access rule is bad, naming its path', async (t) => {
    await bed.writeConfig({ ...bed.config, access: [(bed.config.access as object[])[0], { name: 'bad', sources: ['127.0.0.3/33'] }] });
    const r = await start();
    t.equal(r.code, 1);
    t.match(r.stderr, /GATEWAY_POLICY_INVALID: .*\n\s+access\[1\]\.sources\[0\]: .*prefix length exceeds 32/);
  });
  t.test('when gateway.yaml has an unknown key, naming it', async (t) => {
    await bed.writeConfig({ ...bed.config, tls: { ...(bed.config.tls as object), verifyClient: false } });
    const r = await start();
    t.equal(r.code, 1);
    t.match(r.stderr, /CORE_CONFIG_INVALID[\s\S]*tls\.verifyClient: unknown key/);
  });
});

t.test('gateway: check validates without starting', async (t) => {
  const ok = await runOutpost(['gateway', 'check', '--config', bed.configPath, '--json'], { timeoutMs: 20_000 });
  t.equal(ok.code, 0, ok.stderr);
  t.match(JSON.parse(ok.stdout), { rules: [{ name: 'master', methods: ['GET', 'POST'] }, { name: 'monitoring', methods: ['GET'] }], crlNextUpdate: String });
  t.teardown(restore);
  await bed.writeConfig({ ...bed.config, tls: { ...(bed.config.tls as object), crl: `${bed.dir}/missing.crl` } });
  const bad = await runOutpost(['gateway', 'check', '--config', bed.configPath], { timeoutMs: 20_000 });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /GATEWAY_TLS_FILE_UNREADABLE: tls\.crl .*missing\.crl: ENOENT/);
});

t.test('gateway: IPv6 clients on ::1', async (t) => {
  t.teardown(restore);
  await bed.writeConfig({ ...bed.config, listen: { host: '::1', port: 0 }, access: [{ name: 'v6', sources: ['::1/128'], methods: ['GET'] }] });
  const front = await startGatewayFront(t, bed);
  t.match(front.output(), /listening on https:\/\/\[::1\]:\d+/);
  const r = await new Promise<number | string>((resolve) => {
    const req = https.request({ host: '::1', port: front.port, servername: 'localhost', ca: bed.pki.caCertPem, cert: bed.certs.master.certPem, key: bed.certs.master.keyPem, path: '/echo', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
    req.end();
  });
  // The listener certificate names 127.0.0.1 and localhost; servername localhost keeps verification strict.
  t.equal(r, 200, 'an IPv6 source matched an IPv6 rule');
  t.match(await auditLine(front, (l) => l.src === '::1'), { decision: 'allow', rule: 'v6' });
});

t.test('gateway: CRL nextUpdate warning and certificate days-to-expiry metric', async (t) => {
  t.teardown(restore);
  bed.config.tls = { ...(bed.config.tls as object), crlWarnHours: 24 * 8 };
  bed.config.metrics = { host: '127.0.0.1', port: 0 };
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  // The log lines follow the "listening" line; give them a moment on a busy machine.
  await waitFor(() => front.output().includes('nears its nextUpdate') && front.output().includes('/metrics"'), 15_000, 'the freshness lines').catch(() => undefined);
  t.match(front.output(), /the CRL nears its nextUpdate/, 'warned: the test CRL expires in 7 days, the warning window is 8');
  const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(front.output())?.[1];
  t.ok(url, 'metrics address logged');
  const text = await (await fetch(url!)).text();
  t.match(text, /outpost_gateway_certificate_days_to_expiry\{certificate="listener"\} (29|30)/);
  t.match(text, /outpost_gateway_crl_seconds_to_next_update \d+/);
});

t.test('gateway: the daemon runs with its V8 flags, in the process that was started (execve keeps the pid)', async (t) => {
  const front = await startGatewayFront(t, bed);
  const cmdline = (await readFile(`/proc/${front.pid}/cmdline`, 'utf8')).split('\0');
  const canExec = typeof (process as unknown as { execve?: unknown }).execve === 'function';
  // Node 20 has no execve: the gateway runs as started there (its young generation is half Node 24's anyway).
  for (const flag of GATEWAY_V8_FLAGS) t.equal(cmdline.includes(flag), canExec, `${flag} ${canExec ? 'set' : 'not set (no execve on this Node)'}: ${cmdline.join(' ')}`);
  t.ok(cmdline.includes('gateway') && cmdline.includes('start'), 'the same command');
  t.equal((await call({ port: front.port, ca: bed.pki.caCertPem, from: MASTER_IP, cert: bed.certs.master })).status, 200, 'and it serves');
});
