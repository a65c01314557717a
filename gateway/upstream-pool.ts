/**
 * Keep-alive connections to the agent (Unix socket, or loopback TCP with the shared secret): one request
 * at a time per socket, the request head serialized by forward.ts and written in one piece, the answer
 * read by the strict parser in response-parser.ts.
 *
 * Why not undici: per request it builds a Request object, re-validates every header, runs llhttp in
 * WebAssembly and arms two timers; for a proxy that already sanitized the request that was most of the
 * gateway's own CPU per request. Here one interval per pool checks the header timeout of requests in
 * flight and expires idle sockets, so a request arms no timer at all.
 *
 * A socket is reused only after a complete request and a complete, well-formed response with nothing
 * after it, and never after an error, an abort, `Connection: close` or a close-delimited body. Idle
 * sockets are given up before the agent's own `Keep-Alive: timeout` (minus a second), so a request is
 * not written into a socket the agent is closing; if that race still happens, a GET that got no byte of
 * answer on a reused socket may be retried once on a fresh one (forward.ts decides).
 */
import net from 'node:net';
import { ResponseParser, type ResponseHead, type ResponseSink } from './response-parser.js';

export interface UpstreamTarget {
  socketPath?: string;
  host?: string;
  port?: number;
  secret: string | undefined;
}

export type UpstreamFailure = 'UNAVAILABLE' | 'TIMEOUT' | 'INVALID';

export interface ExchangeHandler extends ResponseSink {
  /** The exchange failed; nothing more is delivered. `retryable`: a reused socket closed before any answer. */
  fail(kind: UpstreamFailure, err: Error, retryable: boolean): void;
  /** The upstream socket accepted buffered request bytes (backpressure for request bodies). */
  drain(): void;
}

/** One request/response on one upstream socket, as forward.ts sees it. */
export interface Exchange {
  write(chunk: Buffer | string): boolean;
  cork(): void;
  uncork(): void;
  /** The request (head and body) is completely written. */
  end(): void;
  /** Stops the exchange without further callbacks; the socket is destroyed, never reused. */
  abort(): void;
  pause(): void;
  resume(): void;
}

/** Without a hint from the agent: undici's default, shorter than Node's server default (5 s). */
const DEFAULT_IDLE_MS = 4_000;
const MAX_IDLE_MS = 30_000;

class Connection implements Exchange {
  handler: ExchangeHandler | undefined;
  parser: ResponseParser | undefined;
  head: ResponseHead | undefined;
  reused = false;
  requestDone = false;
  responseDone = false;
  sentAt = 0;
  idleUntil = 0;
  /** The parser's events, passed on to the current handler (one object per socket, not per request). */
  private readonly sink: ResponseSink;

  constructor(readonly pool: UpstreamPool, readonly socket: net.Socket) {
    this.sink = {
      head: (h) => {
        this.head = h;
        this.handler?.head(h);
      },
      body: (chunk, last) => this.handler?.body(chunk, last),
      end: () => {
        this.responseDone = true;
        this.handler?.end();
      },
    };
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.failWith('UNAVAILABLE', err));
    socket.on('close', () => {
      this.failWith('UNAVAILABLE', new Error('the agent closed the connection'));
      pool.forget(this);
    });
    socket.on('drain', () => this.handler?.drain());
  }

  start(head: string, method: string, handler: ExchangeHandler, hasBody: boolean): void {
    this.handler = handler;
    this.parser = new ResponseParser(this.sink, method);
    this.head = undefined;
    this.requestDone = !hasBody;
    this.responseDone = false;
    this.sentAt = performance.now();
    this.socket.write(head, 'latin1');
  }

  end(): void {
    this.requestDone = true;
    this.maybeRelease();
  }

  write(chunk: Buffer | string): boolean {
    return this.socket.write(chunk);
  }
  cork(): void {
    this.socket.cork();
  }
  uncork(): void {
    this.socket.uncork();
  }
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  abort(): void {
    this.handler = undefined;
    this.destroy();
  }

  destroy(): void {
    this.handler = undefined;
    this.socket.destroy();
    this.pool.forget(this);
  }

  failWith(kind: UpstreamFailure, err: Error): void {
    const h = this.handler;
    if (!h || this.responseDone) return;
    const retryable = this.reused && kind === 'UNAVAILABLE' && (this.parser?.untouched ?? true);
    this.destroy();
    h.fail(kind, err, retryable);
  }

  private onData(chunk: Buffer): void {
    const p = this.parser;
    if (!p || this.responseDone) {
      // Bytes nobody asked for: this socket's framing can no longer be trusted.
      this.destroy();
      return;
    }
    try {
      p.execute(chunk);
    } catch (err) {
      this.failWith('INVALID', err as Error);
      return;
    }
    if (p.extra) this.destroy();
    else if (this.responseDone) this.maybeRelease();
  }

  private onEnd(): void {
    const p = this.parser;
    if (p && this.handler && !this.responseDone) {
      try {
        p.eof();
      } catch (err) {
        this.failWith('UNAVAILABLE', err as Error);
      }
    }
    this.destroy();
  }

  private maybeRelease(): void {
    if (!this.requestDone || !this.responseDone || this.socket.destroyed) return;
    const h = this.head;
    this.handler = undefined;
    this.parser = undefined;
    this.head = undefined;
    const idleMs = h?.keepAliveMs === undefined ? DEFAULT_IDLE_MS : Math.min(h.keepAliveMs - 1000, MAX_IDLE_MS);
    if (!h?.reusable || idleMs <= 0) {
      this.destroy();
      return;
    }
    // The last chunk may have arrived while the handler had paused us for backpressure: an idle socket
    // must read again, to notice the agent closing it and to receive the next answer.
    this.socket.resume();
    this.pool.release(this, idleMs);
  }
}

export class UpstreamPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;
  private closed: (() => void) | undefined;

  constructor(private readonly target: UpstreamTarget, private readonly headersTimeoutMs: number) {
    // One coarse check for every socket instead of timers per request; the timeout is honoured within a
    // tenth of itself (at most a second late).
    const step = Math.max(10, Math.min(1000, Math.floor(headersTimeoutMs / 10)));
    this.sweeper = setInterval(() => this.sweep(), step).unref();
  }

  /** Sends `head` on an idle socket (or a new one, always with `fresh`) and reports to `handler`. */
  request(head: string, method: string, handler: ExchangeHandler, hasBody: boolean, fresh = false): Exchange {
    let conn = fresh ? undefined : this.takeIdle();
    if (!conn) {
      const t = this.target;
      const socket = t.socketPath ? net.connect({ path: t.socketPath }) : net.connect({ host: t.host!, port: t.port!, noDelay: true });
      conn = new Connection(this, socket);
      this.all.add(conn);
    }
    conn.start(head, method, handler, hasBody);
    return conn;
  }

  /** Connections open now (idle or busy), for tests and metrics. */
  get size(): number {
    return this.all.size;
  }

  release(conn: Connection, idleMs: number): void {
    if (this.closing) {
      conn.destroy();
      return;
    }
    conn.reused = true;
    conn.idleUntil = performance.now() + idleMs;
    this.idle.push(conn);
  }

  forget(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.closing && this.all.size === 0) this.finishClose();
  }

  /** New requests are refused by the caller (it switches pools); requests in flight finish. */
  close(): Promise<void> {
    this.closing = true;
    const done = new Promise<void>((resolve) => (this.closed = resolve));
    for (const c of [...this.idle]) c.destroy();
    if (this.all.size === 0) this.finishClose();
    return done;
  }

  destroy(): Promise<void> {
    const done = this.close();
    for (const c of [...this.all]) c.abort();
    return done;
  }

  private finishClose(): void {
    clearInterval(this.sweeper);
    this.closed?.();
  }

  private takeIdle(): Connection | undefined {
    const now = performance.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.idleUntil > now && !c.socket.destroyed) return c;
      c.destroy();
    }
    return undefined;
  }

  private sweep(): void {
    const now = performance.now();
    for (const c of [...this.all]) {
      if (c.handler && !c.head && now - c.sentAt > this.headersTimeoutMs) {
        c.failWith('TIMEOUT', Object.assign(new Error('the agent did not answer in time'), { code: 'UPSTREAM_TIMEOUT' }));
      } else if (!c.handler && c.idleUntil <= now && this.idle.includes(c)) {
        c.destroy();
      }
    }
  }
}
