/**
 * The agent's answers are parsed by response-parser.ts; Node's own client (llhttp) is the reference. On
 * random and mutated responses (fixed seed, bounded in time) every verdict must agree with llhttp's or be
 * stricter: whatever we accept, llhttp accepts with the same status, headers and body. Our verdict must not
 * depend on how the bytes are split into reads either.
 */
import t from 'tap';
import { ResponseParser, UpstreamProtocolError } from '../../gateway/response-parser.js';
import { llhttpVerdict, type Verdict } from '../fixtures/llhttp-oracle.js';

const SEED = 0x07905eed;
const MAX_CASES = 4000;
const MAX_MS = 8000;

function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    // xorshift32
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function ours(bytes: Buffer, splits: readonly number[]): Verdict {
  let status: number | undefined;
  const headers: string[] = [];
  const body: Buffer[] = [];
  let ended = false;
  const p = new ResponseParser({
    head(h) {
      status = h.status;
      headers.push(...h.headers);
    },
    body(c) {
      body.push(Buffer.from(c));
    },
    end() {
      ended = true;
    },
  }, 'GET');
  try {
    let at = 0;
    for (const s of [...splits, bytes.length]) {
      if (ended) break;
      p.execute(bytes.subarray(at, s));
      at = s;
    }
    if (!ended) p.eof();
  } catch (err) {
    if (err instanceof UpstreamProtocolError) return { ok: false, error: err.message };
    throw err;
  }
  return ended ? { ok: true, status: status!, headers, body: Buffer.concat(body).toString('latin1') } : { ok: false, error: 'not complete' };
}

const BASES = [
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}',
  'HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close',
  'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx',
  'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
];

// Bytes and pieces that matter to a parser: line breaks, separators, hex, controls, obs-text.
const BYTES = [0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x3d, 0x22, 0x30, 0x35, 0x61, 0x66, 0x7a, 0x00, 0x7f, 0x80, 0xff, 0x0b, 0x0c, 0x48, 0x2d];
const PIECES = [
  'Content-Length: 5\r\n', 'Content-Length: 0\r\n', 'Content-Length: 99\r\n', 'content-length: 5\r\n', 'Content-Length:5\r\n', 'Content-Length: 5 \r\n',
  'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip\r\n', 'transfer-encoding: Chunked\r\n', 'Transfer-Encoding: chunked, chunked\r\n',
  'Connection: close\r\n', 'Connection: keep-alive\r\n', 'X-A: \r\n', 'X-A:  spaced  \r\n', 'X-B: a\tb\r\n', ' folded\r\n', '\r\n', '\n', '\r',
  '0\r\n\r\n', '5\r\nhello\r\n', 'ff\r\n', '5 ;x\r\n', '5;\r\n', '5;a=\r\n', '5;a="b"\r\n', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 100 Continue\r\n\r\n',
];

function mutate(base: Buffer, r: () => number): Buffer {
  let b = Buffer.from(base);
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (b.length + 1));
    const pick = r();
    if (pick < 0.25 && b.length > 0) {
      b[Math.min(at, b.length - 1)] = BYTES[Math.floor(r() * BYTES.length)]!;
    } else if (pick < 0.45) {
      b = Buffer.concat([b.subarray(0, at), Buffer.from([BYTES[Math.floor(r() * BYTES.length)]!]), b.subarray(at)]);
    } else if (pick < 0.6 && b.length > 0) {
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(r() * 4))]);
    } else if (pick < 0.85) {
      // A piece at a line start, where a header or chunk line would be.
      const lines = [...b.toString('latin1').matchAll(/\r?\n/g)].map((m) => m.index + m[0].length);
      const where = lines.length > 0 ? lines[Math.floor(r() * lines.length)]! : at;
      b = Buffer.concat([b.subarray(0, where), Buffer.from(PIECES[Math.floor(r() * PIECES.length)]!, 'latin1'), b.subarray(where)]);
    } else {
      b = b.subarray(0, at);
    }
  }
  return b;
}

function randomResponse(r: () => number): Buffer {
  const out: number[] = [];
  const len = Math.floor(r() * 60);
  for (let i = 0; i < len; i++) out.push(r() < 0.7 ? BYTES[Math.floor(r() * BYTES.length)]! : Math.floor(r() * 256));
  return Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n', 'latin1'), Buffer.from(out)]);
}

function splitsOf(len: number, r: () => number): number[] {
  const s = new Set<number>();
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) s.add(Math.floor(r() * (len + 1)));
  return [...s].sort((a, b) => a - b);
}

/** Bytes up to where our parser saw the answer complete: the gateway forwards that and drops the socket. */
function used(bytes: Buffer): number {
  let ended = false;
  const p = new ResponseParser({ head() {}, body() {}, end: () => (ended = true) }, 'GET');
  for (let i = 0; i < bytes.length; i++) {
    p.execute(bytes.subarray(i, i + 1));
    if (ended) return i + 1;
  }
  return bytes.length;
}

const show = (b: Buffer) => JSON.stringify(b.toString('latin1'));

t.test('the response parser agrees with llhttp or is stricter, on random and mutated answers', async (t) => {
  const r = rng(SEED);
  const started = Date.now();
  let cases = 0;
  let accepted = 0;
  let stricter = 0;
  const problems: string[] = [];
  const inputs = BASES.map((b) => Buffer.from(b, 'latin1'));
  while (cases < MAX_CASES && Date.now() - started < MAX_MS && problems.length < 10) {
    const bytes = cases < inputs.length ? inputs[cases]! : r() < 0.8 ? mutate(inputs[Math.floor(r() * inputs.length)]!, r) : randomResponse(r);
    cases++;
    const whole = ours(bytes, []);
    const split = ours(bytes, splitsOf(bytes.length, r));
    if (whole.ok !== split.ok || (whole.ok && JSON.stringify(whole) !== JSON.stringify(split))) {
      problems.push(`the verdict depends on how the bytes are split: ${show(bytes)}`);
      continue;
    }
    // Bytes after a complete answer never reach the client (the socket is dropped); llhttp would read
    // them as the next response, so it judges the answer alone.
    const ref = await llhttpVerdict(whole.ok ? bytes.subarray(0, used(bytes)) : bytes);
    if (!whole.ok) {
      if (ref.ok) stricter++;
      continue;
    }
    accepted++;
    if (!ref.ok) problems.push(`accepted, but llhttp refuses (${ref.error}): ${show(bytes)}`);
    else if (ref.status !== whole.status || JSON.stringify(ref.headers) !== JSON.stringify(whole.headers) || ref.body !== whole.body) {
      problems.push(`accepted differently: ours ${JSON.stringify(whole)} llhttp ${JSON.stringify(ref)} for ${show(bytes)}`);
    }
  }
  t.same(problems, [], `${cases} answers in ${Date.now() - started} ms: ${accepted} accepted by both, ${stricter} refused only by us`);
  t.ok(accepted >= BASES.length, 'the well-formed answers are accepted');
});
