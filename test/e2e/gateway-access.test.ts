/**
 * Who gets through, on both fronts (the Node gateway and nginx rendered from the same gateway.yaml):
 * clients from several loopback addresses with every kind of certificate, and the audit line for each.
 */
import t from 'tap';
import { auditLine, createBed, frontSkip, FRONTS, MASTER_IP, MONITOR_IP, startFront, UNLISTED_IP, type Bed, type Front } from '../fixtures/gateway.js';
import { call, curl, type CallOptions, type Reply } from '../fixtures/gateway-client.js';
import type { Issued } from '../fixtures/pki.js';

function refused(r: Reply): boolean {
  return r.error !== undefined || (r.status !== undefined && r.status >= 400);
}

for (const kind of FRONTS) {
  t.test(`${kind} front`, { skip: frontSkip(kind) }, async (t) => {
    const bed: Bed = await createBed(t);
    const front: Front = await startFront(t, bed, kind);
    const ask = (o: Omit<CallOptions, 'port' | 'ca'>) => call({ port: front.port, ca: bed.pki.caCertPem, ...o });
    const reached = () => bed.upstream.requests.length;

    t.test('the master may GET and POST from its address', async (t) => {
      const get = await ask({ from: MASTER_IP, cert: bed.certs.master, path: '/echo?a=1' });
      t.equal(get.status, 200);
      t.equal(JSON.parse(get.body).url, '/echo?a=1');
      const post = await ask({ from: MASTER_IP, cert: bed.certs.master, method: 'POST', path: '/v1/jobs', body: '{"argv":["true"]}', headers: { 'content-type': 'application/json' } });
      t.equal(post.status, 200);
      t.equal(JSON.parse(post.body).bodyBytes, 17, 'the body reached the agent');
      const line = await auditLine(front, (l) => l.method === 'POST' && l.path === '/v1/jobs' && l.status === 200);
      t.ok(line, 'audit line for the allowed POST');
      t.match(line, { src: MASTER_IP, subject: 'CN=master', decision: 'allow', rule: 'master' });
      if (kind === 'gateway') t.equal(line?.thumbprint, bed.certs.master.thumbprint, 'audit names the SHA-256 thumbprint');
    });

    t.test('a monitoring client may GET but not POST', async (t) => {
      t.equal((await ask({ from: MONITOR_IP, cert: bed.certs.monitor })).status, 200);
      const before = reached();
      const post = await ask({ from: MONITOR_IP, cert: bed.certs.monitor, method: 'POST', path: '/v1/jobs', body: '{}' });
      t.equal(post.status, 403);
      t.equal(reached(), before, 'the POST never reached the agent');
      t.match(await auditLine(front, (l) => l.src === MONITOR_IP && l.method === 'POST'), { decision: 'deny', rule: 'monitoring', reason: 'METHOD_NOT_ALLOWED' });
    });

    t.test('first match wins: the monitor certificate from the master address gets the monitoring rule', async (t) => {
      t.equal((await ask({ from: MASTER_IP, cert: bed.certs.monitor })).status, 200);
      t.equal((await ask({ from: MASTER_IP, cert: bed.certs.monitor, method: 'POST', body: '{}' })).status, 403);
    });

    t.test('an unlisted source address is refused', async (t) => {
      const before = reached();
      const r = await ask({ from: UNLISTED_IP, cert: bed.certs.master });
      t.ok(refused(r), `refused (${r.status ?? r.error})`);
      t.equal(reached(), before);
      const c = await curl({ port: front.port, caPath: bed.pki.caCertPath, from: UNLISTED_IP, cert: bed.certs.master });
      t.notMatch(c.stdout, /\n200$/, 'curl --interface 127.0.0.4 is refused too');
      const line = await auditLine(front, (l) => l.src === UNLISTED_IP);
      t.match(line, { decision: 'deny', reason: kind === 'gateway' ? 'IP_NOT_ALLOWED' : 'IP_OR_CLIENT_NOT_ALLOWED' });
    });

    const certCases: [string, () => Issued | undefined, RegExp, RegExp][] = [
      ['no client certificate', () => undefined, /^NO_CLIENT_CERT$/, /^NO_CLIENT_CERT$/],
      ['a certificate from another CA', () => bed.certs.foreign, /^UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/, /unable to (get local issuer|verify)/],
      ['an expired certificate', () => bed.certs.expired, /^CERT_HAS_EXPIRED$/, /expired/],
      ['a revoked certificate', () => bed.certs.revoked, /^CERT_REVOKED$/, /revoked/],
      ['the server certificate used as a client', () => bed.certs.listener, /PURPOSE/, /purpose/],
    ];
    for (const [name, cert, gatewayReason, nginxReason] of certCases) {
      t.test(`${name} is refused and audited`, async (t) => {
        const before = reached();
        const c = cert();
        const r = await ask({ from: MASTER_IP, cert: c, path: `/echo?case=${encodeURIComponent(name)}` });
        t.ok(refused(r), `refused (${r.status ?? r.error})`);
        t.equal(reached(), before, 'nothing reached the agent');
        if (kind === 'gateway') {
          const line = await auditLine(front, (l) => l.kind === 'connection' && gatewayReason.test(String(l.reason)) && (c === undefined || l.thumbprint === c.thumbprint));
          t.ok(line, `connection audit line with reason ${gatewayReason}`);
          t.match(line, { src: MASTER_IP, decision: 'deny' });
        } else {
          const line = await auditLine(front, (l) => String(l.path).includes(encodeURIComponent(name)));
          t.ok(line, 'audit line for the refused request');
          t.match(String(line?.reason), nginxReason);
        }
      });
    }

    t.test('a valid certificate that no rule pins for this address is refused', async (t) => {
      const before = reached();
      const r = await ask({ from: MASTER_IP, cert: bed.certs.intruder, path: '/echo?intruder' });
      t.equal(r.status, 403);
      t.equal(reached(), before);
      t.match(await auditLine(front, (l) => l.path === '/echo?intruder'), {
        subject: 'CN=intruder', decision: 'deny', reason: kind === 'gateway' ? 'CLIENT_NOT_ALLOWED' : 'IP_OR_CLIENT_NOT_ALLOWED',
      });
    });

    t.test('client-sent forwarding and identity headers are replaced', async (t) => {
      const r = await ask({
        from: MASTER_IP,
        cert: bed.certs.master,
        headers: {
          'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil', forwarded: 'for=203.0.113.9',
          'x-real-ip': '203.0.113.9', 'x-outpost-client-subject': 'CN=admin', 'x-outpost-client-thumbprint': 'A'.repeat(64),
          'x-outpost-secret': 'guess', 'proxy-connection': 'keep-alive',
        },
      });
      t.equal(r.status, 200);
      const seen = JSON.parse(r.body) as { headers: Record<string, string> };
      t.equal(seen.headers['x-forwarded-for'], MASTER_IP);
      t.equal(seen.headers['x-forwarded-proto'], 'https');
      t.equal(seen.headers['x-outpost-client-subject'], 'CN=master');
      t.equal(seen.headers['x-outpost-client-thumbprint'], kind === 'gateway' ? bed.certs.master.thumbprint : undefined);
      for (const h of ['forwarded', 'x-real-ip', 'x-forwarded-host', 'x-outpost-secret', 'proxy-connection']) t.equal(seen.headers[h], undefined, `${h} stripped`);
    });

    t.test('responses carry the security headers and no X-Powered-By', async (t) => {
      const r = await ask({ from: MASTER_IP, cert: bed.certs.master });
      t.match(r.headers['strict-transport-security'], /max-age=31536000/);
      t.equal(r.headers['x-content-type-options'], 'nosniff');
      t.match(r.headers['content-security-policy'], /default-src 'none'/);
      t.equal(r.headers['x-powered-by'], undefined);
    });
  });
}
