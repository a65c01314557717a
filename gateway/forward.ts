/**
 * The hand-off to the agent over a keep-alive undici pool (Unix socket or loopback TCP). undici's
 * dispatch API skips the ClientRequest/IncomingMessage objects and http.Agent bookkeeping that
 * `http.request` costs per request — the largest share of a Node proxy's CPU after TLS itself.
 * Streaming with backpressure both ways: each chunk from the agent goes to the client as it arrives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type { Dispatcher, Pool as UndiciPool } from 'undici';
import { gatewayError } from './errors.js';
import type { SecurityHeaders } from './security-headers.js';

export interface UpstreamTarget {
  socketPath?: string;
  host?: string;
  port?: number;
  secret: string | undefined;
}

const require = createRequire(import.meta.url);

/**
 * Only undici's Pool, not its whole index (fetch, WebSocket, caches, interceptors): that saves ~10 MB of
 * resident memory in an idle gateway. Falls back to the index if a future undici moves the file.
 */
function loadPool(): typeof UndiciPool {
  try {
    return require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
  } catch {
    return (require('undici') as { Pool: typeof UndiciPool }).Pool;
  }
}
const Pool = loadPool();

export function createUpstreamPool(target: UpstreamTarget, headersTimeoutMs: number): UndiciPool {
  const origin = target.socketPath ? 'http://localhost' : `http://${target.host?.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  return new Pool(origin, {
    ...(target.socketPath ? { connect: { socketPath: target.socketPath } } : {}),
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: headersTimeoutMs,
    // Job output with follow=1 and the event stream may be quiet for long; the client decides.
    bodyTimeout: 0,
  });
}

// Hop-by-hop headers of the agent's answer; the client gets the gateway's own connection handling.
const RESPONSE_DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade', 'proxy-authenticate', 'x-powered-by']);

/** The agent's response headers minus hop-by-hop ones and those the gateway sets itself, after `out`. */
export function responseHeaderList(headers: Record<string, string | string[] | undefined>, own: ReadonlySet<string>, out: string[]): string[] {
  for (const name in headers) {
    if (RESPONSE_DROP.has(name) || own.has(name)) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const item of v) out.push(name, item);
  }
  return out;
}

export interface ForwardOptions {
  pool: Dispatcher;
  req: IncomingMessage;
  res: ServerResponse;
  method: 'GET' | 'POST';
  headers: string[];
  /** Declared Content-Length of the request body (already checked against the limit), or undefined. */
  contentLength: number | undefined;
  maxBodyBytes: number;
  security: SecurityHeaders;
  /** Called once with what was sent to the client and why it failed, if it did. */
  done(bytes: number, failure: string | undefined): void;
}

class BodyTooLarge extends Error {}

const STREAM_SLACK = 256 * 1024;

async function* limited(req: IncomingMessage, max: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) throw new BodyTooLarge(`body exceeds ${max} bytes`);
    yield chunk;
  }
}

function answerError(res: ServerResponse, security: SecurityHeaders, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.shouldKeepAlive = false;
  res.writeHead(status, [...security.list, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store']);
  res.end(body);
}

export function forward(o: ForwardOptions): void {
  const { req, res, security } = o;
  let bytes = 0;
  let declared = -1;
  let failure: string | undefined;
  let controller: Dispatcher.DispatchController | undefined;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    o.done(bytes, failure);
  };
  res.once('close', () => {
    // Client went away mid-answer (a follow stream closed): stop the agent side too.
    if (!res.writableFinished) {
      failure ??= 'ABORTED';
      controller?.abort(new Error('client closed the connection'));
    }
    finish();
  });

  let body: Dispatcher.DispatchOptions['body'] = null;
  if (o.method === 'POST') {
    // A declared length is enforced by Node's parser and was checked against the limit; a chunked body
    // is counted as it streams.
    body = o.contentLength !== undefined ? req : Readable.from(limited(req, o.maxBodyBytes), { objectMode: false });
  } else {
    req.resume();
  }

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(ctl) {
      controller = ctl;
    },
    onResponseStart(ctl, statusCode, headers) {
      const list = responseHeaderList(headers as Record<string, string | string[]>, security.names, [...security.list]);
      res.writeHead(statusCode, list);
      const cl = headers['content-length'];
      declared = typeof cl === 'string' ? Number(cl) : -1;
      res.on('drain', () => ctl.resume());
      // 'drain' fires only after a write() returned false, which happens past the 16 KiB high-water
      // mark, so every pause below is followed by one.
    },
    onResponseData(ctl, chunk: Buffer) {
      bytes += chunk.length;
      // The whole body in one chunk (small answers): end with it, so headers and body leave in one
      // write and one TLS record instead of two. Anything longer streams chunk by chunk.
      if (bytes === declared && bytes === chunk.length) {
        res.end(chunk);
        return;
      }
      // Pause the agent side only past STREAM_SLACK buffered bytes, not at the response's 16 KiB mark:
      // pausing at every chunk serialises reading the socket and encrypting (half the throughput).
      res.write(chunk);
      if (res.writableLength > STREAM_SLACK) ctl.pause();
    },
    onResponseEnd() {
      if (!res.writableEnded) res.end();
    },
    onResponseError(_ctl, err) {
      if (res.writableEnded || res.destroyed) return;
      if (res.headersSent) {
        failure ??= 'UPSTREAM_ERROR';
        res.destroy();
        return;
      }
      if (err instanceof BodyTooLarge) {
        failure = 'BODY_TOO_LARGE';
        answerError(res, security, 413, 'GATEWAY_BODY_TOO_LARGE', err.message);
        return;
      }
      const timeout = (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
      failure = timeout ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE';
      const e = gatewayError(timeout ? 'GATEWAY_UPSTREAM_TIMEOUT' : 'GATEWAY_UPSTREAM_UNAVAILABLE',
        timeout ? 'the agent did not answer in time' : 'the agent is not reachable');
      answerError(res, security, e.status, e.code, e.message);
    },
  };
  o.pool.dispatch({ method: o.method, path: o.req.url ?? '/', headers: o.headers, body }, handler);
}
