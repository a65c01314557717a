/**
 * Requests that must never reach the agent, on both fronts: request smuggling variants (CL.TE, TE.CL,
 * duplicate Content-Length, chunked DELETE, obfuscated Transfer-Encoding), other methods, CONNECT and
 * upgrades, bodies on GET; and the limits: oversized headers (431), oversized bodies, a slowloris cut in
 * seconds rather than Node's default ~30 s.
 */
import t from 'tap';
import tls from 'node:tls';
import { auditLine, createBed, FRONTS, frontSkip, MASTER_IP, startFront } from '../fixtures/gateway.js';
import { call, rawTls } from '../fixtures/gateway-client.js';

function statusOf(text: string): number | undefined {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

for (const kind of FRONTS) {
  t.test(`${kind} front`, { skip: frontSkip(kind) }, async (t) => {
    const bed = await createBed(t);
    const front = await startFront(t, bed, kind);
    // nginx may keep a connection open after answering; a short wait then suffices.
    const raw = (data: string, waitMs = kind === 'nginx' ? 1500 : 4000) => rawTls({ port: front.port, ca: bed.pki.caCertPem, from: MASTER_IP, cert: bed.certs.master, data, waitMs });
    const smuggledReached = () => bed.upstream.requests.filter((r) => r.url.includes('smuggled') || r.method !== 'GET' && r.method !== 'POST');

    const cases: [string, string, number[]][] = [
      ['CL.TE (Content-Length with Transfer-Encoding)',
        'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n', [400]],
      ['TE.CL (Transfer-Encoding with Content-Length)',
        'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2c\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n\r\n0\r\n\r\n', [400]],
      ['duplicate Content-Length',
        'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello', [400]],
      ['conflicting Content-Length',
        'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhello', [400]],
      ['obfuscated Transfer-Encoding',
        'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', [400, 501]],
      ['chunked DELETE',
        'DELETE /v1/jobs/smuggled HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', [403, 405]],
      ['PUT', 'PUT /v1/jobs/smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', [403, 405]],
      ['CONNECT', 'CONNECT smuggled.example:443 HTTP/1.1\r\nHost: smuggled.example:443\r\n\r\n', [400, 403, 405]],
      ['an Upgrade request', 'GET /v1/events?smuggled HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', [405]],
      ['a body on GET', 'GET /echo?smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello', [400]],
      ['a chunked body on GET', 'GET /echo?smuggled HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', [400]],
    ];
    for (const [name, data, statuses] of cases) {
      t.test(`${name} is refused before the agent`, async (t) => {
        const before = bed.upstream.requests.length;
        const auditedBefore = (await front.audit()).length;
        const r = await raw(data);
        t.ok(statuses.includes(statusOf(r.text) ?? 0), `status ${statusOf(r.text)} is one of ${statuses.join('/')}`);
        // The gateway never reuses a connection after a refusal (its body was not read); nginx reads and
        // discards the body and may keep the connection, which is safe because nginx parsed the framing.
        if (kind === 'gateway') t.ok(r.closed, 'the connection was closed');
        t.same(smuggledReached(), [], 'no smuggled request reached the agent');
        t.equal(bed.upstream.requests.length, before, 'nothing at all was forwarded');
        if (kind === 'gateway') {
          // Each refusal leaves an audit line with its reason (lines are written in 20 ms batches).
          let fresh: Record<string, unknown>[] = [];
          for (let i = 0; i < 300 && fresh.length === 0; i++) {
            fresh = (await front.audit()).slice(auditedBefore);
            if (fresh.length === 0) await new Promise((res) => setTimeout(res, 50));
          }
          t.match(fresh[0], { src: MASTER_IP, decision: 'deny', reason: /^(BAD_REQUEST|METHOD_REFUSED|UPGRADE_REFUSED|HPE_\w+)$/ }, `audited: ${String(fresh[0]?.reason)}`);
        }
      });
    }

    t.test('Expect: 100-continue is answered by the front and the body still arrives', async (t) => {
      const r = await raw('POST /echo?expect HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
      t.match(r.text, /HTTP\/1\.1 200/);
      const seen = bed.upstream.requests.find((q) => q.url === '/echo?expect');
      t.equal(seen?.bodyBytes, 5);
      t.equal(seen?.headers.expect, undefined, 'the agent gets a plain request');
    });

    t.test('an oversized body announced with Expect: 100-continue is refused before 100 Continue', async (t) => {
      // The client waits for 100 before sending; it must never be invited to send what will be refused.
      const r = await raw('POST /echo?expect-big HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n');
      t.equal(statusOf(r.text), 413, r.text.split('\r\n')[0] ?? '');
      t.notMatch(r.text, /100 Continue/);
      t.notOk(bed.upstream.requests.some((q) => q.url === '/echo?expect-big'));
    });

    t.test('an absolute-form target never reaches the agent as such', async (t) => {
      const r = await raw('GET http://other.example/echo?absolute HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      // The gateway refuses it; nginx rewrites it to origin form (the path) before proxying.
      if (kind === 'gateway') t.equal(statusOf(r.text), 400);
      t.notOk(bed.upstream.requests.some((q) => q.url.startsWith('http')), 'no absolute URL reached the agent');
    });

    t.test('oversized request headers are refused (431 from the gateway)', async (t) => {
      const before = bed.upstream.requests.length;
      const r = await raw(`GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
      t.equal(statusOf(r.text), kind === 'gateway' ? 431 : 400);
      t.equal(bed.upstream.requests.length, before);
      if (kind === 'gateway') t.ok(await auditLine(front, (l) => l.status === 431 && l.reason === 'HEADERS_TOO_LARGE'), 'audited');
    });

    t.test('a body over limits.maxBodyBytes is refused with 413', async (t) => {
      const before = bed.upstream.requests.length;
      const r = await call({ port: front.port, ca: bed.pki.caCertPem, from: MASTER_IP, cert: bed.certs.master, method: 'POST', body: Buffer.alloc(100_000, 'x') });
      t.ok(r.status === 413 || r.error !== undefined, `refused (${r.status ?? r.error})`);
      t.equal(bed.upstream.requests.length, before);
    });

    t.test('a chunked body over the limit is cut off', async (t) => {
      const chunk = 'x'.repeat(16_000);
      const body = Array.from({ length: 6 }, () => `${(16_000).toString(16)}\r\n${chunk}\r\n`).join('') + '0\r\n\r\n';
      const r = await raw(`POST /echo?chunked-big HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
      t.equal(statusOf(r.text), 413);
      t.notOk(bed.upstream.requests.some((q) => q.url === '/echo?chunked-big' && q.bodyBytes > 65_536), 'the agent never got more than the limit');
    });

    t.test('a slowloris that trickles headers is cut within seconds', async (t) => {
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: front.port, servername: 'localhost', localAddress: MASTER_IP, ca: bed.pki.caCertPem,
          cert: bed.certs.master.certPem, key: bed.certs.master.keyPem } as tls.ConnectionOptions);
        let timer: NodeJS.Timeout | undefined;
        s.on('secureConnect', () => {
          s.write('GET /echo HTTP/1.1\r\nHost: localhost\r\n');
          let i = 0;
          timer = setInterval(() => s.write(`X-Drip-${i++}: x\r\n`), 300);
        });
        s.on('data', () => undefined);
        const done = () => {
          clearInterval(timer);
          resolve(Date.now() - started);
        };
        s.on('close', done);
        s.on('error', () => undefined);
        setTimeout(() => s.destroy(), 25_000);
      });
      t.ok(closedAfter < 12_000, `closed after ${closedAfter} ms (headers timeout 2 s; Node's default check would take ~30 s)`);
    });
  });
}
