import t from 'tap';
import { ResponseParser, UpstreamProtocolError, type ResponseHead } from '../../gateway/response-parser.js';

interface Parsed {
  head: ResponseHead | undefined;
  body: string;
  lastFlags: boolean[];
  ended: boolean;
  extra: boolean;
  error: Error | undefined;
}

/** Feeds `chunks` (optionally one byte at a time) and then, if asked, the end of the connection. */
function parse(chunks: (string | Buffer)[], opts: { method?: string; bytewise?: boolean; eof?: boolean; maxHead?: number } = {}): Parsed {
  const out: Parsed = { head: undefined, body: '', lastFlags: [], ended: false, extra: false, error: undefined };
  const p = new ResponseParser({
    head: (h) => (out.head = h),
    body: (c, last) => {
      out.body += c.toString('latin1');
      out.lastFlags.push(last);
    },
    end: () => (out.ended = true),
  }, opts.method ?? 'GET', opts.maxHead);
  try {
    for (const c of chunks) {
      const buf = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
      if (opts.bytewise) for (let i = 0; i < buf.length; i++) p.execute(buf.subarray(i, i + 1));
      else p.execute(buf);
    }
    if (opts.eof) p.eof();
  } catch (err) {
    out.error = err as Error;
  }
  out.extra = p.extra;
  return out;
}

const OK_JSON = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nKeep-Alive: timeout=5\r\n\r\n{"ok":true}';

t.test('valid answers, whole and split at every byte', async (t) => {
  for (const bytewise of [false, true]) {
    const a = parse([OK_JSON], { bytewise });
    t.equal(a.error, undefined);
    t.match(a.head, { status: 200, framing: 'length', length: 11, reusable: true, keepAliveMs: 5000 });
    t.same(a.head!.headers, ['content-type', 'application/json', 'content-length', '11', 'keep-alive', 'timeout=5'], 'names lowercased');
    t.equal(a.body, '{"ok":true}');
    t.equal(a.lastFlags.at(-1), true, 'the last body chunk is flagged');
    t.ok(a.ended);
    if (!bytewise) t.same(a.lastFlags, [true], 'a small answer arrives as one last chunk');

    const c = parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'], { bytewise });
    t.equal(c.error, undefined);
    t.match(c.head, { framing: 'chunked', reusable: true });
    t.equal(c.body, 'hello world');
    t.ok(c.ended);
    t.notOk(c.extra);
  }
  const z = parse(['HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n']);
  t.ok(z.ended);
  t.equal(z.body, '');
  const interim = parse(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok']);
  t.match(interim.head, { status: 201 });
  t.equal(interim.body, 'ok');
  const closed = parse(['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx']);
  t.match(closed.head, { reusable: false });
  const old = parse(['HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx']);
  t.match(old.head, { reusable: false }, 'HTTP/1.0 without keep-alive is not reused');
  const untilClose = parse(['HTTP/1.1 200 OK\r\n\r\nall of ', 'it'], { eof: true });
  t.match(untilClose.head, { framing: 'close', reusable: false });
  t.equal(untilClose.body, 'all of it');
  t.ok(untilClose.ended);
  const ows = parse(['HTTP/1.1 200 OK\r\nX-A:   spaced \t\r\nContent-Length: 0\r\n\r\n']);
  t.same(ows.head!.headers.slice(0, 2), ['x-a', 'spaced']);
});

t.test('Connection: keep-alive keeps an HTTP/1.0 answer reusable; every listed token is reported', async (t) => {
  const old = parse(['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx']);
  t.match(old.head, { reusable: true, connectionListed: ['keep-alive'] });
  const oldOther = parse(['HTTP/1.0 200 OK\r\nConnection: x-hop\r\nContent-Length: 1\r\n\r\nx']);
  t.match(oldOther.head, { reusable: false, connectionListed: ['x-hop'] }, 'HTTP/1.0 closes unless keep-alive is listed');
  const current = parse(['HTTP/1.1 200 OK\r\nConnection: keep-alive, , X-Hop\r\nContent-Length: 1\r\n\r\nx']);
  t.match(current.head, { reusable: true, connectionListed: ['keep-alive', 'x-hop'] }, 'empty list elements are skipped');
});

t.test('untouched and done follow the answer as it arrives', async (t) => {
  const p = new ResponseParser({ head: () => {}, body: () => {}, end: () => {} }, 'GET');
  t.ok(p.untouched, 'nothing yet: a reused socket that fails now may be retried');
  t.notOk(p.done);
  p.execute(Buffer.from('HTTP/1.1 2'));
  t.notOk(p.untouched, 'part of a status line is already an answer');
  t.notOk(p.done);
  p.execute(Buffer.from('00 OK\r\nContent-Length: 2\r\n\r\no'));
  t.notOk(p.untouched);
  t.notOk(p.done, 'one body byte still to come');
  p.execute(Buffer.from('k'));
  t.ok(p.done);
  t.notOk(p.untouched);
});

t.test('bytes after a complete answer mark the socket unusable', async (t) => {
  const a = parse([`${OK_JSON}HTTP/1.1 200 OK\r\n\r\n`]);
  t.ok(a.ended);
  t.ok(a.extra);
});

t.test('malformed answers are refused', async (t) => {
  const cases: [string, string[], { eof?: boolean; maxHead?: number }?][] = [
    ['bare LF line endings', ['HTTP/1.1 200 OK\nContent-Length: 0\n\n'], { eof: true }],
    ['bare LF line endings, the agent keeping the connection open', ['HTTP/1.1 200 OK\nContent-Length: 0\n\n']],
    ['a status line ending in a bare LF, nothing more yet', ['HTTP/1.1 200 OK\n']],
    ['a bare CR, nothing more yet', ['HTTP/1.1 200 OK\r\nX-A: 1\rX']],
    ['bare LF inside a header', ['HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 5\r\n\r\n']],
    ['bare CR inside a value', ['HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n']],
    ['NUL in a value', ['HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n']],
    ['obs-fold', ['HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n']],
    ['space before the colon', ['HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello']],
    ['empty header name', ['HTTP/1.1 200 OK\r\n: x\r\n\r\n']],
    ['two-digit status', ['HTTP/1.1 20 OK\r\n\r\n']],
    ['HTTP/2 status line', ['HTTP/2 200\r\n\r\n']],
    ['not HTTP at all', ['ICY 200 OK\r\n\r\n']],
    ['lowercase protocol', ['http/1.1 200 OK\r\n\r\n']],
    ['conflicting Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!']],
    ['Content-Length list', ['HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello']],
    ['negative Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n']],
    ['Content-Length with a sign', ['HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello']],
    ['Content-Length with Transfer-Encoding', ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']],
    ['Transfer-Encoding other than chunked', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n']],
    ['chunked twice', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']],
    ['101 without an upgrade', ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n']],
    ['chunk size not hex', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n']],
    ['chunk size 0x-prefixed', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n']],
    ['negative chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n']],
    ['huge chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000\r\n']],
    ['chunk size line with bare LF', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n']],
    ['chunk data longer than declared', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n']],
    ['chunk data without CRLF', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n']],
    ['bad trailer line', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n']],
    ['head larger than the limit', [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`], { maxHead: 1024 }],
    ['head never ending, larger than the limit', [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(2000)}`], { maxHead: 1024 }],
    ['body cut short', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'], { eof: true }],
    ['chunked body cut short', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'], { eof: true }],
    ['closed before any answer', [], { eof: true }],
    // Found by the llhttp comparison (response-parser-fuzz.test.ts): Node's parser refuses these or frames them differently.
    ['repeated equal Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello']],
    ['a tab after the Content-Length digits', ['HTTP/1.1 200 OK\r\nContent-Length: 5\t\r\n\r\nhello']],
    ['a tab after chunked', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n5\r\nhello\r\n0\r\n\r\n']],
    ['Content-Length in a trailer', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n']],
    ['whitespace in a chunk extension', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n']],
    ['a quote inside a chunk extension token', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b"c\r\nhello\r\n0\r\n\r\n']],
    // MAX_LINE: checked whether the line arrives in one read or is gathered over many (the byte-by-byte pass).
    ['a chunk size line over 4 KiB', [`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=${'b'.repeat(4100)}\r\nhello\r\n0\r\n\r\n`]],
    ['a trailer line over 4 KiB', [`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${'t'.repeat(4100)}\r\n\r\n`]],
    ['an interim answer that closes the connection', ['HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok']],
  ];
  for (const [name, chunks, opts] of cases) {
    for (const bytewise of [false, true]) {
      const r = parse(chunks, { ...opts, bytewise });
      t.type(r.error, UpstreamProtocolError, `${name}${bytewise ? ' (byte by byte)' : ''}`);
      t.notOk(r.ended, `${name}: never reported complete`);
    }
  }
});
