/**
 * The hand-off to the agent over the gateway's own keep-alive pool (upstream-pool.ts): the sanitized
 * request head serialized in one string and written in one piece, the answer streamed to the client as
 * it arrives with backpressure both ways (job output with follow=1 and the event stream depend on it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError } from './errors.js';
import type { ResponseHead } from './response-parser.js';
import type { SecurityHeaders } from './security-headers.js';
import type { Exchange, ExchangeHandler, UpstreamFailure, UpstreamPool } from './upstream-pool.js';

export type { UpstreamTarget } from './upstream-pool.js';

// Hop-by-hop headers of the agent's answer; the client gets the gateway's own connection handling.
const RESPONSE_DROP = new Set(['connection', 'close', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'trailer', 'upgrade', 'proxy-authenticate', 'x-powered-by']);

/**
 * The agent's response headers (flat, lowercase names) minus hop-by-hop ones — fixed ones and whatever
 * its `Connection` header names — and those the gateway sets itself, after `out`.
 */
export function responseHeaderList(headers: readonly string[], own: ReadonlySet<string>, out: string[], connectionListed: readonly string[] = []): string[] {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (RESPONSE_DROP.has(name) || own.has(name) || (connectionListed.length > 0 && connectionListed.includes(name))) continue;
    out.push(name, headers[i + 1]!);
  }
  return out;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^\/[\x21-\x7e\x80-\xff]*$/;

/**
 * The request head for the agent, or undefined when a name, value or the target could split it. Node's
 * parser already refuses such requests from clients; this keeps our own added values (identity, secret)
 * honest too, at the cost of one regular expression per header.
 */
export function requestHead(method: string, target: string, headers: readonly string[], chunked: boolean): string | undefined {
  if (!TARGET.test(target)) return undefined;
  let head = `${method} ${target} HTTP/1.1\r\n`;
  let host = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return undefined;
    if (name.length === 4 && name.toLowerCase() === 'host') host = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!host) head += 'host: localhost\r\n';
  if (chunked) head += 'transfer-encoding: chunked\r\n';
  return `${head}\r\n`;
}

export interface ForwardOptions {
  pool: UpstreamPool;
  req: IncomingMessage;
  res: ServerResponse;
  method: 'GET' | 'POST';
  headers: string[];
  /** Declared Content-Length of the request body (already checked against the limit), or undefined. */
  contentLength: number | undefined;
  /** The client sent a chunked body (counted against maxBodyBytes as it streams). */
  chunked: boolean;
  maxBodyBytes: number;
  security: SecurityHeaders;
  /** Called once with what was sent to the client and why it failed, if it did. */
  done(bytes: number, failure: string | undefined): void;
}

const STREAM_SLACK = 256 * 1024;
const SMALL_BODY = 16 * 1024;

function answerError(res: ServerResponse, security: SecurityHeaders, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.shouldKeepAlive = false;
  res.writeHead(status, [...security.list, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store']);
  res.end(body);
}

const FAILURES: Record<UpstreamFailure, { reason: string; code: 'GATEWAY_UPSTREAM_TIMEOUT' | 'GATEWAY_UPSTREAM_UNAVAILABLE' | 'GATEWAY_UPSTREAM_INVALID'; message: string }> = {
  TIMEOUT: { reason: 'UPSTREAM_TIMEOUT', code: 'GATEWAY_UPSTREAM_TIMEOUT', message: 'the agent did not answer in time' },
  UNAVAILABLE: { reason: 'UPSTREAM_UNAVAILABLE', code: 'GATEWAY_UPSTREAM_UNAVAILABLE', message: 'the agent is not reachable' },
  INVALID: { reason: 'UPSTREAM_INVALID', code: 'GATEWAY_UPSTREAM_INVALID', message: 'the agent sent a malformed response' },
};

export function forward(o: ForwardOptions): void {
  const { req, res, security } = o;
  let bytes = 0;
  let failure: string | undefined;
  let finished = false;
  let retried = false;
  const hasBody = o.method === 'POST' && (o.chunked || (o.contentLength ?? 0) > 0);
  let requestEnded = !hasBody;
  /** The exchange in progress; cleared once it ended or failed, so a late abort cannot hit a reused socket. */
  let ex: Exchange | undefined;
  const finish = () => {
    if (finished) return;
    finished = true;
    o.done(bytes, failure);
  };
  res.once('close', () => {
    // Client went away mid-answer (a follow stream closed): stop the agent side too.
    if (!res.writableFinished) {
      failure ??= 'ABORTED';
      ex?.abort();
      ex = undefined;
    }
    finish();
  });

  const head = requestHead(o.method, o.req.url ?? '/', o.headers, o.chunked);
  if (head === undefined) {
    failure = 'BAD_REQUEST';
    req.resume();
    answerError(res, security, 400, 'GATEWAY_BAD_REQUEST', 'a header or the request target contains characters that cannot be forwarded');
    return;
  }

  let paused = false;
  const resume = () => {
    paused = false;
    ex?.resume();
  };
  const handler: ExchangeHandler = {
    head(h: ResponseHead) {
      res.writeHead(h.status, responseHeaderList(h.headers, security.names, [...security.list], h.connectionListed));
    },
    body(chunk, last) {
      // The whole body in one chunk (small answers): end with it, so headers and body leave in one
      // write and one TLS record instead of two. Anything longer streams chunk by chunk.
      if (last && bytes === 0) {
        bytes = chunk.length;
        // As a latin1 string (byte for byte the same), Node prepends the head to it and writes one
        // string, instead of queueing head and body separately for a corked writev.
        if (chunk.length <= SMALL_BODY) res.end(chunk.toString('latin1'), 'latin1');
        else res.end(chunk);
        return;
      }
      bytes += chunk.length;
      res.write(chunk);
      // Pause the agent side only past STREAM_SLACK buffered bytes, not at the response's 16 KiB mark:
      // pausing at every chunk serialises reading the socket and encrypting (half the throughput).
      // 'drain' follows, since write() returned false long before this point.
      // One read from the agent may hold many small chunks: pause (and wait for 'drain') once.
      if (res.writableLength > STREAM_SLACK && ex && !paused) {
        paused = true;
        ex.pause();
        res.once('drain', resume);
      }
    },
    end() {
      if (!res.writableEnded) res.end();
      // The agent answered before the request body was through: that socket cannot carry another request.
      if (!requestEnded) ex?.abort();
      ex = undefined;
    },
    fail(kind, err, retryable) {
      ex = undefined;
      if (res.writableEnded || res.destroyed) return;
      if (retryable && !hasBody && !retried) {
        // A reused socket the agent had just closed: nothing was processed, send it again on a new one.
        retried = true;
        ex = o.pool.request(head, o.method, handler, false, true);
        return;
      }
      const f = FAILURES[kind];
      if (res.headersSent) {
        failure ??= 'UPSTREAM_ERROR';
        res.destroy();
        return;
      }
      failure ??= f.reason;
      const e = gatewayError(f.code, kind === 'INVALID' ? `${f.message}: ${err.message}` : f.message);
      answerError(res, security, e.status, e.code, e.message);
    },
    drain() {
      req.resume();
    },
  };
  ex = o.pool.request(head, o.method, handler, hasBody);
  if (!hasBody) {
    req.resume();
    return;
  }

  // A declared length is enforced by Node's parser and was checked against the limit; a chunked body
  // is counted as it streams, and nothing past the limit is written to the agent.
  let n = 0;
  req.on('data', (chunk: Buffer) => {
    if (!ex || chunk.length === 0) return;
    n += chunk.length;
    if (o.chunked && n > o.maxBodyBytes) {
      ex.abort();
      ex = undefined;
      if (res.headersSent || res.writableEnded) {
        res.destroy();
        return;
      }
      failure = 'BODY_TOO_LARGE';
      answerError(res, security, 413, 'GATEWAY_BODY_TOO_LARGE', `body exceeds ${o.maxBodyBytes} bytes`);
      return;
    }
    let ok: boolean;
    if (o.chunked) {
      ex.cork();
      ex.write(`${chunk.length.toString(16)}\r\n`);
      ex.write(chunk);
      ok = ex.write('\r\n');
      ex.uncork();
    } else {
      ok = ex.write(chunk);
    }
    if (!ok) req.pause();
  });
  req.once('end', () => {
    requestEnded = true;
    if (!ex) return;
    if (o.chunked) ex.write('0\r\n\r\n');
    ex.end();
  });
}
