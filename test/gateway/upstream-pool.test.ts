import t, { type Test } from 'tap';
import net from 'node:net';
import http from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { UpstreamPool, type UpstreamFailure } from '../../gateway/upstream-pool.js';
import type { ResponseHead } from '../../gateway/response-parser.js';
import { requestHead } from '../../gateway/forward.js';

interface Outcome {
  head?: ResponseHead;
  body: string;
  failed?: { kind: UpstreamFailure; retryable: boolean; message: string };
}

function exchange(pool: UpstreamPool, head: string, fresh = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '' };
    pool.request(head, 'GET', {
      head: (h) => (out.head = h),
      body: (c) => (out.body += c.toString()),
      end: () => resolve(out),
      fail: (kind, err, retryable) => {
        out.failed = { kind, retryable, message: err.message };
        resolve(out);
      },
      drain: () => {},
    }, false, fresh);
  });
}

const GET = (path: string) => requestHead('GET', path, ['host', 'agent', 'x-outpost-client-subject', 'CN=master'], false)!;

/** A raw upstream: `answer(requestIndexOnThisSocket, socket)` writes whatever the test wants. */
async function rawUpstream(t: Test, answer: (n: number, socket: net.Socket, request: string, connection: number) => void): Promise<{ path: string; connections: () => number }> {
  const path = join(await tempDir(t, 'outpost-pool-'), 'up.sock');
  let connections = 0;
  const server = net.createServer((socket) => {
    const connection = ++connections;
    let n = 0;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const req = buf.slice(0, i);
        buf = buf.slice(i + 4);
        answer(n++, socket, req, connection);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(() => new Promise<void>((r) => { server.close(() => r()); }));
  return { path, connections: () => connections };
}

t.test('keep-alive reuse with a real Node HTTP server, and what the agent receives', async (t) => {
  const path = join(await tempDir(t, 'outpost-pool-'), 'agent.sock');
  const seen: http.IncomingMessage[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    seen.push(req);
    req.resume();
    const body = JSON.stringify({ url: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const pool = new UpstreamPool({ socketPath: path, secret: undefined }, 5000);
  t.teardown(() => pool.destroy());

  for (const p of ['/v1/status', '/v1/jobs/abc/output?offset=0']) {
    const r = await exchange(pool, GET(p));
    t.equal(r.failed, undefined);
    t.equal(r.head?.status, 200);
    t.same(JSON.parse(r.body), { url: p });
  }
  t.equal(connections, 1, 'both requests used one keep-alive socket');
  t.equal(seen[0]!.headers.host, 'agent');
  t.equal(seen[0]!.headers['x-outpost-client-subject'], 'CN=master');
  t.equal(pool.size, 1);
});

t.test('a malformed answer fails the exchange and its socket is never reused', async (t) => {
  const up = await rawUpstream(t, (n, socket, req, connection) => {
    if (connection === 1) {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok');
    } else {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  });
  const pool = new UpstreamPool({ socketPath: up.path, secret: undefined }, 5000);
  t.teardown(() => pool.destroy());
  const bad = await exchange(pool, GET('/a'));
  t.match(bad.failed, { kind: 'INVALID', retryable: false, message: /conflicting Content-Length/ });
  const good = await exchange(pool, GET('/b'));
  t.equal(good.body, 'ok');
  t.equal(up.connections(), 2, 'the second request went on a new socket');
});

t.test('Connection: close, bytes after the answer: the socket is not reused', async (t) => {
  const up = await rawUpstream(t, (n, socket, req) => {
    if (req.startsWith('GET /close')) socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
    else if (req.startsWith('GET /extra')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const pool = new UpstreamPool({ socketPath: up.path, secret: undefined }, 5000);
  t.teardown(() => pool.destroy());
  t.equal((await exchange(pool, GET('/close'))).body, 'ok');
  t.equal((await exchange(pool, GET('/extra'))).body, 'ok');
  t.equal((await exchange(pool, GET('/plain'))).body, 'ok');
  t.equal(up.connections(), 3, 'each of the three requests had its own socket');
});

t.test('a socket paused for backpressure when its answer completed reads again once reused', async (t) => {
  const up = await rawUpstream(t, (n, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const pool = new UpstreamPool({ socketPath: up.path, secret: undefined }, 2000);
  t.teardown(() => pool.destroy());
  const first = await new Promise<string>((resolve) => {
    const ex = pool.request(GET('/paused'), 'GET', {
      head: () => {},
      // As forward.ts does when the client is slow: pause, and the answer ends before 'drain'.
      body: () => ex.pause(),
      end: () => resolve('end'),
      fail: (kind) => resolve(kind),
      drain: () => {},
    }, false);
  });
  t.equal(first, 'end');
  const second = await exchange(pool, GET('/next'));
  t.equal(second.failed, undefined, 'the reused socket answered (no timeout)');
  t.equal(second.body, 'ok');
  t.equal(up.connections(), 1);
});

t.test('no answer within the timeout', async (t) => {
  const up = await rawUpstream(t, () => {});
  const pool = new UpstreamPool({ socketPath: up.path, secret: undefined }, 200);
  t.teardown(() => pool.destroy());
  const r = await exchange(pool, GET('/slow'));
  t.match(r.failed, { kind: 'TIMEOUT', retryable: false });
  t.equal(pool.size, 0, 'the socket was closed');
});

t.test('a reused socket closed by the agent before answering is reported retryable', async (t) => {
  const up = await rawUpstream(t, (n, socket) => {
    if (n === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    else socket.destroy();
  });
  const pool = new UpstreamPool({ socketPath: up.path, secret: undefined }, 5000);
  t.teardown(() => pool.destroy());
  t.equal((await exchange(pool, GET('/one'))).body, 'ok');
  const second = await exchange(pool, GET('/two'));
  t.match(second.failed, { kind: 'UNAVAILABLE', retryable: true });
  const fresh = await exchange(pool, GET('/three'), true);
  t.equal(fresh.body, 'ok', 'a fresh socket works');
});

t.test('an agent cut off mid-answer is not retryable; a missing socket is unavailable', async (t) => {
  const up = await rawUpstream(t, (n, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf'));
  const pool = new UpstreamPool({ socketPath: up.path, secret: undefined }, 5000);
  t.teardown(() => pool.destroy());
  const cut = await exchange(pool, GET('/cut'));
  t.match(cut.failed, { kind: 'UNAVAILABLE', retryable: false, message: /mid-response/ });

  const missing = new UpstreamPool({ socketPath: join(await tempDir(t), 'nothing.sock'), secret: undefined }, 5000);
  t.teardown(() => missing.destroy());
  t.match((await exchange(missing, GET('/x'))).failed, { kind: 'UNAVAILABLE', retryable: false });
});

t.test('requestHead: one serialized head, nothing that could split it', async (t) => {
  t.equal(requestHead('POST', '/v1/jobs', ['Host', 'a', 'content-length', '2'], false), 'POST /v1/jobs HTTP/1.1\r\nHost: a\r\ncontent-length: 2\r\n\r\n');
  t.equal(requestHead('POST', '/v1/jobs', ['x-a', 'b'], true), 'POST /v1/jobs HTTP/1.1\r\nx-a: b\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n');
  t.equal(requestHead('GET', '/', ['x-a', 'b\r\nx-outpost-secret: s'], false), undefined, 'CRLF in a value');
  t.equal(requestHead('GET', '/', ['x-a', 'b\0'], false), undefined, 'NUL in a value');
  t.equal(requestHead('GET', '/', ['x a', 'b'], false), undefined, 'space in a name');
  t.equal(requestHead('GET', '/ HTTP/1.1\r\nx: y', [], false), undefined, 'a target with spaces and CRLF');
  t.equal(requestHead('GET', 'http://other/', [], false), undefined, 'absolute-form target');
  t.equal(requestHead('GET', '/caf\xe9', ['x-a', 'obs-text \xe9'], false), 'GET /caf\xe9 HTTP/1.1\r\nx-a: obs-text \xe9\r\nhost: localhost\r\n\r\n', 'obs-text passes as is');
});

t.test('a head with a bare LF is refused at once, not at the upstream timeout', async (t) => {
  // The agent keeps the connection open: only the bytes themselves can reveal the fault.
  const up = await rawUpstream(t, (_n, socket) => socket.write('HTTP/1.1 200 OK\nContent-Length: 0\n\n'));
  const pool = new UpstreamPool({ socketPath: up.path, secret: undefined }, 60_000);
  t.teardown(() => pool.destroy());
  const started = Date.now();
  const r = await exchange(pool, GET('/x'));
  t.match(r.failed, { kind: 'INVALID', message: /bare LF/ });
  t.ok(Date.now() - started < 30_000, `refused after ${Date.now() - started} ms, not after the 60 s upstream timeout`);
});
