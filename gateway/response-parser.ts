/**
 * A small, strict HTTP/1.1 response parser for the agent's answers (replaces undici's llhttp-in-wasm
 * client, whose per-request machinery cost more than the parsing itself). Pure: bytes in, events out.
 *
 * Strict on purpose (RFC 9112): CRLF line endings only, no obs-fold, header names must be tokens, values
 * free of control characters, one Content-Length value (repeats must agree), Transfer-Encoding only as
 * exactly `chunked` and never together with Content-Length, chunk sizes in hex with CRLF after the data.
 * Anything else throws UpstreamProtocolError; the caller answers 502 and drops that upstream socket, so
 * an ambiguous answer can never desynchronise a reused connection.
 */

import { firstLetterFilter } from './first-letter-filter.js';

export class UpstreamProtocolError extends Error {}

export type Framing = 'length' | 'chunked' | 'close' | 'none';

export interface ResponseHead {
  status: number;
  /** Flat name/value list; names lowercased, values without surrounding whitespace. */
  headers: string[];
  framing: Framing;
  /** Body length when framing is 'length'. */
  length: number;
  /** May the connection carry another request after this response (HTTP/1.1 and no `Connection: close`)? */
  reusable: boolean;
  /** The agent's `Keep-Alive: timeout=N` hint in ms, if it sent one. */
  keepAliveMs: number | undefined;
  /** Lowercase names the agent's `Connection` header lists: hop-by-hop, never passed on (RFC 9110 §7.6.1). */
  connectionListed: string[];
}

/** The header names the parser itself reads; every other one is only collected. */
export const HEAD_FIELDS = ['content-length', 'transfer-encoding', 'connection', 'keep-alive'] as const;
/** Fast path for HEAD_FIELDS: false means the name is certainly none of them. */
export const mayBeHeadField = firstLetterFilter(HEAD_FIELDS);

export interface ResponseSink {
  head(head: ResponseHead): void;
  /** `last` is true when this chunk completes a Content-Length body. */
  body(chunk: Buffer, last: boolean): void;
  end(): void;
}

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;
const FIELD_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):([\t\x20-\x7e\x80-\xff]*)$/;
// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ), without
// the optional whitespace, which llhttp refuses.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const CHUNK_SIZE = new RegExp(`^([0-9A-Fa-f]{1,12})(?:;${TOKEN}(?:=(?:${TOKEN}|${QUOTED}))?)*$`);
/** Fields that frame a message: never allowed in a trailer (RFC 9110 §6.5.1). */
const TRAILER_FORBIDDEN = /^(?:content-length|transfer-encoding|connection|keep-alive|upgrade|te|trailer|host):/i;
const DIGITS = /^\d{1,15}$/;
const CONTENT_LENGTH_RAW = /^ *\d{1,15} *$/;
const CRLF2 = Buffer.from('\r\n\r\n');
const MAX_LINE = 4096;

// Parser states (plain numbers: the hot loop switches on them).
const State = { Head: 0, Length: 1, ChunkSize: 2, ChunkData: 3, ChunkCrlf: 4, Trailer: 5, Close: 6, Done: 7 } as const;
type State = (typeof State)[keyof typeof State];

function fail(message: string): never {
  throw new UpstreamProtocolError(`invalid response from the agent: ${message}`);
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Index of a LF not preceded by CR, or of a CR followed by anything but LF, in buf[from, to); -1 if none.
 * A CR that ends the data may still get its LF in the next read.
 */
export function bareLineBreak(buf: Buffer, from: number, to: number): number {
  for (let i = buf.indexOf(0x0a, from); i >= 0 && i < to; i = buf.indexOf(0x0a, i + 1)) {
    if (i === 0 || buf[i - 1] !== 0x0d) return i;
  }
  for (let i = buf.indexOf(0x0d, from); i >= 0 && i < to; i = buf.indexOf(0x0d, i + 1)) {
    if (i + 1 < buf.length && buf[i + 1] !== 0x0a) return i;
  }
  return -1;
}

/** Parses a complete head (without the final empty line). Exported for tests. */
export function parseHead(text: string, requestMethod: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (!m) fail(`bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const status = Number(m[2]);
  const http10 = m[1] === '0';
  const headers: string[] = [];
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let close = http10;
  let keepAliveMs: number | undefined;
  const connectionListed: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = FIELD_LINE.exec(lines[i]!);
    if (!f) fail(`bad header line ${JSON.stringify(lines[i]!.slice(0, 80))}`);
    const name = f[1]!.toLowerCase();
    const value = trimOws(f[2]!);
    headers.push(name, value);
    if (!mayBeHeadField(name)) continue;
    if (name === 'content-length') {
      // Spaces only around the digits: llhttp refuses a tab there.
      if (!DIGITS.test(value) || !CONTENT_LENGTH_RAW.test(f[2]!)) fail(`Content-Length ${JSON.stringify(value)}`);
      // Even equal repeats: llhttp (Node's parser) refuses them, and the agent never sends them.
      if (contentLength !== undefined) fail(contentLength === value ? 'repeated Content-Length header' : 'conflicting Content-Length headers');
      contentLength = value;
    } else if (name === 'transfer-encoding') {
      // Exactly `chunked`: llhttp reads `chunked<TAB>` as not chunked, and the two must never frame differently.
      if (!/^ ?chunked$/i.test(f[2]!)) fail(`Transfer-Encoding ${JSON.stringify(f[2]!.slice(0, 40))} (only chunked)`);
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    } else if (name === 'connection') {
      const tokens = value.toLowerCase().split(',').map(trimOws);
      for (const token of tokens) if (token !== '') connectionListed.push(token);
      if (tokens.includes('close')) close = true;
      else if (http10 && tokens.includes('keep-alive')) close = false;
    } else if (name === 'keep-alive') {
      const t = /(?:^|[,;]\s*)timeout=(\d{1,6})(?:$|[,;\s])/i.exec(value);
      if (t) keepAliveMs = Number(t[1]) * 1000;
    }
  }
  let framing: Framing;
  let length = 0;
  if (status === 101) fail('protocol switch (101) without an upgrade request');
  if (transferEncoding !== undefined && contentLength !== undefined) fail('Content-Length together with Transfer-Encoding');
  if (requestMethod === 'HEAD' || status === 204 || status === 304 || status < 200) {
    framing = 'none';
  } else if (transferEncoding !== undefined) {
    if (transferEncoding.toLowerCase() !== 'chunked') fail(`Transfer-Encoding ${JSON.stringify(transferEncoding)} (only chunked)`);
    framing = 'chunked';
  } else if (contentLength !== undefined) {
    framing = 'length';
    length = Number(contentLength);
  } else {
    // Body until the agent closes (RFC 9112 §6.3 rule 8): the socket cannot be reused.
    framing = 'close';
    close = true;
  }
  return { status, headers, framing, length, reusable: !close, keepAliveMs, connectionListed };
}

export class ResponseParser {
  private state: State = State.Head;
  private pending: Buffer | undefined;
  private remaining = 0;
  private line = '';
  private sawCr = false;
  /** Set when bytes arrive after the message ended (the socket must not be reused). */
  extra = false;

  constructor(
    private readonly sink: ResponseSink,
    private readonly method: string,
    private readonly maxHeadBytes = 64 * 1024,
  ) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Feeds bytes from the socket; throws UpstreamProtocolError on anything malformed. */
  execute(data: Buffer): void {
    let buf = data;
    // Where this read's bytes start in buf: what came before was already scanned.
    let fresh = 0;
    if (this.pending) {
      fresh = this.pending.length;
      buf = Buffer.concat([this.pending, data]);
      this.pending = undefined;
    }
    let at = 0;
    while (at < buf.length) {
      switch (this.state) {
        case State.Head: {
          const from = Math.max(at, fresh - 3);
          fresh = 0;
          const end = buf.indexOf(CRLF2, from);
          // A bare LF (or a CR before anything but LF) can never become valid: refuse it now, not when
          // the agent closes or the upstream timeout fires.
          const bare = bareLineBreak(buf, Math.max(at, from), end < 0 ? buf.length : end);
          if (bare >= 0) fail(`bare ${buf[bare] === 0x0a ? 'LF' : 'CR'} in the response head`);
          if (end < 0) {
            if (buf.length - at > this.maxHeadBytes) fail(`head larger than ${this.maxHeadBytes} bytes`);
            this.pending = buf.subarray(at);
            return;
          }
          if (end - at > this.maxHeadBytes) fail(`head larger than ${this.maxHeadBytes} bytes`);
          const head = parseHead(buf.toString('latin1', at, end), this.method);
          at = end + 4;
          // Interim answers (100 Continue, 103 Early Hints) are skipped; the real one follows.
          if (head.status < 200) {
            // One that also ends the connection (HTTP/1.0, Connection: close) leaves no room for the answer.
            if (!head.reusable) fail(`interim ${head.status} response that closes the connection`);
            continue;
          }
          this.sink.head(head);
          if (head.framing === 'none') this.finish();
          else if (head.framing === 'chunked') this.state = State.ChunkSize;
          else if (head.framing === 'close') this.state = State.Close;
          else if (head.length === 0) this.finish();
          else {
            this.state = State.Length;
            this.remaining = head.length;
          }
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length - at);
          this.remaining -= n;
          this.sink.body(at === 0 && n === buf.length ? buf : buf.subarray(at, at + n), this.remaining === 0);
          at += n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.Close:
          this.sink.body(at === 0 ? buf : buf.subarray(at), false);
          return;
        case State.ChunkSize:
        case State.Trailer: {
          const line = this.readLine(buf, at);
          if (line === undefined) return;
          at = line.next;
          if (this.state === State.ChunkSize) {
            const m = CHUNK_SIZE.exec(line.text);
            if (!m) fail(`bad chunk size line ${JSON.stringify(line.text.slice(0, 40))}`);
            this.remaining = parseInt(m[1]!, 16);
            this.state = this.remaining === 0 ? State.Trailer : State.ChunkData;
          } else if (line.text === '') {
            this.finish();
          } else if (!FIELD_LINE.test(line.text) || TRAILER_FORBIDDEN.test(line.text)) {
            fail(`bad trailer line ${JSON.stringify(line.text.slice(0, 40))}`);
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - at);
          this.sink.body(buf.subarray(at, at + n), false);
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) this.state = State.ChunkCrlf;
          break;
        }
        case State.ChunkCrlf: {
          // CR and LF may arrive in different reads.
          if (buf[at] !== (this.sawCr ? 0x0a : 0x0d)) fail('missing CRLF after chunk data');
          at++;
          this.sawCr = !this.sawCr;
          if (!this.sawCr) this.state = State.ChunkSize;
          break;
        }
        case State.Done:
          this.extra = true;
          return;
      }
    }
  }

  /** The agent closed the connection: the end of a close-delimited body, or a truncated answer. */
  eof(): void {
    if (this.state === State.Close) this.finish();
    else if (this.state !== State.Done) fail(this.state === State.Head && !this.pending ? 'connection closed before any response' : 'connection closed mid-response');
  }

  /** True when nothing at all of a response has arrived yet. */
  get untouched(): boolean {
    return this.state === State.Head && this.pending === undefined;
  }

  private finish(): void {
    this.state = State.Done;
    this.sink.end();
  }

  /** One CRLF-terminated line (chunk size or trailer), possibly spread over reads; bare CR or LF refused. */
  private readLine(buf: Buffer, at: number): { text: string; next: number } | undefined {
    const lf = buf.indexOf(0x0a, at);
    if (lf < 0) {
      this.line += buf.toString('latin1', at);
      if (this.line.length > MAX_LINE) fail('chunk size or trailer line too long');
      return undefined;
    }
    let text = this.line + buf.toString('latin1', at, lf);
    this.line = '';
    if (text.charCodeAt(text.length - 1) !== 0x0d) fail('bare LF in chunked framing');
    text = text.slice(0, -1);
    if (text.length > MAX_LINE) fail('chunk size or trailer line too long');
    return { text, next: lf + 1 };
  }
}
