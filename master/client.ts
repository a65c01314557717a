/**
 * The master's HTTPS client for one agent (through its gateway): undici with mutual TLS and a keep-alive
 * connection pool per agent, so a fan-out reuses one handshake per connection instead of one per request.
 * Every failure becomes a MASTER_* error that says what to check; the agent's own error code is kept.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { API_VERSION, API_VERSION_HEADER, incompatibleAgentAdvice, judgeAgentApi, type ApiVerdict } from '../core/api-version.js';
import { outpostVersion } from '../core/version.js';
import { masterError } from './errors.js';
import type { TlsCredentials } from './credentials.js';
import { HEADERS, type JobRequest } from '../core/api/contract.js';
import { validateJobId } from './job-request.js';

export interface ClientOptions {
  /** Connections kept per agent (default 4). */
  connections?: number;
  /** Time to wait for response headers (default 30 s). */
  requestTimeoutMs?: number;
  /** Time to open the TCP connection and finish the TLS handshake (default 10 s, as pdsh's -t). */
  connectTimeoutMs?: number;
}

export interface JobRecord {
  id: string;
  state: string;
  exitCode?: number | null;
  signal?: string | null;
  createdAt?: string;
  startedAt?: string | null;
  endedAt?: string | null;
  /** The size of the job's output so far; all of it once the job has ended. */
  outputBytes?: number;
  [key: string]: unknown;
}

export interface OutputResponse {
  /** Byte offset of the first byte of `body`, as the agent states it (or as requested). */
  start: number;
  body: AsyncIterable<Uint8Array>;
  /** Releases the connection without reading the rest. */
  discard(): void;
}

const TLS_CODES = /CERT|SSL|TLS|ALTNAME|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HANDSHAKE/i;

/** Maps a transport failure to the error an operator can act on. */
export function transportError(err: unknown, url: string): Error {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? '';
  const causeCode = e.cause?.code ?? '';
  const message = e.message ?? String(err);
  // `connected: false`: no connection was made, so this request reached nobody (submit-retry.ts).
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return masterError('MASTER_CONNECT_TIMEOUT', `${url}: no TLS connection within the connect timeout (${message})`, { cause: err, details: { connected: false } });
  }
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL', 'EAI_AGAIN'].includes(code) ||
      ['ECONNREFUSED', 'EHOSTUNREACH'].includes(causeCode)) {
    return masterError('MASTER_AGENT_UNREACHABLE', `${url}: ${code || causeCode} (${message})`, { cause: err, details: { connected: false } });
  }
  // Reset before any TLS answer: nothing (a gateway restarting, a proxy that lost its upstream) took part in a
  // handshake, so nothing was refused and nothing was sent. A certificate refusal comes as an alert, or, with
  // TLS 1.3, as a reset after the handshake (below).
  if (code === 'ECONNRESET' && /before secure TLS connection was established/.test(message)) {
    return masterError('MASTER_AGENT_UNREACHABLE', `${url}: connection reset before the TLS handshake (${message})`, { cause: err, details: { connected: false } });
  }
  if (TLS_CODES.test(code) || TLS_CODES.test(message) || TLS_CODES.test(causeCode)) {
    return masterError('MASTER_TLS_FAILED', `${url}: TLS handshake failed: ${code ? `${code} ` : ''}${message}`, { cause: err });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return masterError('MASTER_REQUEST_TIMEOUT', `${url}: no answer in time (${code})`, { cause: err });
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    // A gateway that rejects our certificate with TLS 1.3 resets after the handshake; say both.
    return masterError('MASTER_AGENT_UNREACHABLE', `${url}: connection closed by the gateway (${code}); if this repeats, the gateway may have refused our client certificate`, { cause: err });
  }
  return masterError('MASTER_AGENT_ERROR', `${url}: ${message}`, { cause: err });
}

interface WireError {
  error?: { code?: string; message?: string };
}

/** Turns a non-2xx answer into the matching MASTER_* error, keeping the agent's or gateway's code. */
export function httpError(status: number, body: string, url: string, retryAfter?: string): Error {
  let upstream: { code?: string; message?: string } = {};
  try {
    upstream = (JSON.parse(body) as WireError).error ?? {};
  } catch {
    upstream = { message: body.slice(0, 200).trim() };
  }
  const code = upstream.code ?? `HTTP_${status}`;
  const text = `${url}: ${code}: ${upstream.message ?? `HTTP ${status}`}`;
  const details = { status, upstreamCode: code };
  if (status === 404 && /NOT_FOUND/.test(code)) return masterError('MASTER_JOB_NOT_FOUND', text, { details });
  if (status === 401 || status === 403 || status === 405 || code.startsWith('GATEWAY_')) {
    if (status < 500) return masterError('MASTER_ACCESS_DENIED', text, { details });
  }
  if (status === 503 && retryAfter) return masterError('MASTER_AGENT_BUSY', `${text} (retry after ${retryAfter} s)`, { details: { ...details, retryAfter } });
  if (status >= 400 && status < 500) return masterError('MASTER_REQUEST_REFUSED', text, { details });
  return masterError('MASTER_AGENT_ERROR', text, { details });
}

/** The master's refusal of an agent whose API it might misread (core/api-version.ts). */
export function incompatibleAgent(verdict: Exclude<ApiVerdict, { compatible: true }>, url: string, ours = API_VERSION): Error {
  return masterError('MASTER_AGENT_INCOMPATIBLE', `${url}: ${incompatibleAgentAdvice(verdict, ours)} (this master is outpost ${outpostVersion()})`, {
    details: { agentApiVersion: verdict.announced ?? null, masterApiVersion: ours },
  });
}

/**
 * An error answer without an API version header still tells who sent it: the gateway's own refusals
 * (GATEWAY_*) say nothing about the agent, while an AGENT_* code without the header comes from an agent
 * older than API versioning.
 */
export function answeredByAgent(body: string): boolean {
  try {
    return /^AGENT_/.test((JSON.parse(body) as WireError).error?.code ?? '');
  } catch {
    return false;
  }
}

/** How the master verifies a gateway: its connector credentials, the server certificate always checked. */
export function tlsConnectOptions(u: URL, creds: TlsCredentials): { secureContext: TlsCredentials['secureContext']; servername?: string; rejectUnauthorized: true } {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  // SNI carries host names only (RFC 6066 section 3); IP URLs are checked against IP SANs.
  return { secureContext: creds.secureContext, ...(isIp ? {} : { servername: host }), rejectUnauthorized: true };
}

export class AgentClient {
  readonly url: string;
  readonly #pool: Pool;
  readonly #base: string;
  readonly #timeout: number;
  /** An answer of this agent's announced a compatible API (see #send). */
  #apiChecked = false;
  #apiProbe: Promise<void> | undefined;

  constructor(url: string, creds: TlsCredentials, options: ClientOptions = {}) {
    this.url = url;
    const u = new URL(url);
    this.#base = u.pathname.replace(/\/+$/, '');
    this.#timeout = options.requestTimeoutMs ?? 30_000;
    this.#pool = new Pool(u.origin, {
      connections: options.connections ?? 4,
      keepAliveTimeout: 30_000,
      connect: {
        // Covers the TCP connect and the TLS handshake: a listener that accepts but never answers counts.
        timeout: options.connectTimeoutMs ?? 10_000,
        ...tlsConnectOptions(u, creds),
      },
    });
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    opts: { body?: unknown; signal?: AbortSignal; stream?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Dispatcher.ResponseData> {
    // Nothing that changes state goes to an agent before one of its answers showed it speaks our API: an
    // agent older than versioning would act on a request it may misread. One GET per agent and run.
    if (method === 'POST' && !this.#apiChecked) await this.#probeApi(opts.signal);
    // undici counts the previous answer on a connection as done only after the current I/O callbacks (and
    // keeps a connection that carried a POST blocked until then): a request sent right after reading an
    // answer found the connection busy and opened another — two or three TLS handshakes per host in a
    // fan-out instead of one. One turn of the event loop lets it see the connection free.
    await new Promise((resolve) => setImmediate(resolve));
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#pool.request({
        method,
        path: `${this.#base}${path}`,
        headers: { accept: 'application/json', [API_VERSION_HEADER]: String(API_VERSION), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : method === 'POST' ? { body: '' } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        headersTimeout: this.#timeout,
        // A followed output stream may be quiet for long; the follower reconnects from its offset.
        bodyTimeout: opts.stream ? 60_000 : this.#timeout,
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw transportError(err, this.url);
    }
    // Every answer is checked (a header compare): an agent may be replaced by another release mid-run.
    const verdict = judgeAgentApi(res.headers[API_VERSION_HEADER]);
    if (res.statusCode >= 400) {
      const text = await res.body.text().catch(() => '');
      if (!verdict.compatible && (verdict.why !== 'missing' || answeredByAgent(text))) throw incompatibleAgent(verdict, this.url);
      const ra = res.headers['retry-after'];
      throw httpError(res.statusCode, text, this.url, Array.isArray(ra) ? ra[0] : ra);
    }
    if (!verdict.compatible) {
      // Not read: it may be a followed stream. Destroying without a listener would be an uncaught abort.
      res.body.on('error', () => undefined).destroy();
      throw incompatibleAgent(verdict, this.url);
    }
    this.#apiChecked = true;
    return res;
  }

  /** GET /v1/status once (shared by concurrent callers); #send checks its answer's API version. */
  async #probeApi(signal: AbortSignal | undefined): Promise<void> {
    this.#apiProbe ??= (async () => {
      try {
        const res = await this.#send('GET', '/v1/status', signal ? { signal } : {});
        await res.body.text().catch(() => '');
      } finally {
        this.#apiProbe = undefined;
      }
    })();
    await this.#apiProbe;
  }

  async #json<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, headers?: Record<string, string>): Promise<T> {
    const res = await this.#send(method, path, { body, ...(signal ? { signal } : {}), ...(headers ? { headers } : {}) });
    const text = await res.body.text().catch((err: unknown) => {
      throw transportError(err, this.url);
    });
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw masterError('MASTER_AGENT_ERROR', `${this.url}${path}: answer is not JSON (${text.slice(0, 80)})`, { cause: err });
    }
  }

  /**
   * POST /v1/jobs. With an idempotency key, sending the same body again is safe: an agent that already
   * accepted it answers that job (200) instead of starting another (docs/agent.md).
   */
  submit(body: JobRequest, signal?: AbortSignal, idempotencyKey?: string): Promise<{ id: string; state: string }> {
    return this.#json('POST', '/v1/jobs', body, signal, idempotencyKey !== undefined ? { [HEADERS.idempotencyKey]: idempotencyKey } : undefined);
  }

  async job(id: string, signal?: AbortSignal): Promise<JobRecord> {
    return this.#json('GET', `/v1/jobs/${validateJobId(id)}`, undefined, signal);
  }

  list(query: { state?: string; limit?: number } = {}): Promise<unknown> {
    const qs = new URLSearchParams();
    if (query.state) qs.set('state', query.state);
    if (query.limit) qs.set('limit', String(query.limit));
    const s = qs.toString();
    return this.#json('GET', `/v1/jobs${s ? `?${s}` : ''}`);
  }

  async cancel(id: string): Promise<JobRecord> {
    return this.#json('POST', `/v1/jobs/${validateJobId(id)}/cancel`);
  }

  async abort(id: string): Promise<JobRecord> {
    return this.#json('POST', `/v1/jobs/${validateJobId(id)}/abort`);
  }

  templates(): Promise<{ templates: Record<string, unknown>[] }> {
    return this.#json('GET', '/v1/templates');
  }

  whoami(): Promise<Record<string, unknown>> {
    return this.#json('GET', '/v1/whoami');
  }

  status(signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.#json('GET', '/v1/status', undefined, signal);
  }

  async output(id: string, offset: number, follow: boolean, signal?: AbortSignal): Promise<OutputResponse> {
    const res = await this.#send('GET', `/v1/jobs/${validateJobId(id)}/output?offset=${offset}${follow ? '&follow=1' : ''}`, {
      stream: follow,
      ...(signal ? { signal } : {}),
    });
    const stated = res.headers[HEADERS.outputOffset];
    const start = Number(Array.isArray(stated) ? stated[0] : stated ?? offset);
    return {
      start: Number.isFinite(start) ? start : offset,
      body: res.body,
      discard: () => res.body.destroy(),
    };
  }

  close(): Promise<void> {
    return this.#pool.close().catch(() => undefined);
  }
}

/** One client (and so one keep-alive pool) per agent URL. */
export class ClientPool {
  readonly #clients = new Map<string, AgentClient>();

  constructor(private readonly creds: TlsCredentials, private readonly options: ClientOptions = {}) {}

  get(url: string): AgentClient {
    let c = this.#clients.get(url);
    if (!c) {
      c = new AgentClient(url, this.creds, this.options);
      this.#clients.set(url, c);
    }
    return c;
  }

  /** Closes one agent's connections; a later get() opens new ones. */
  async drop(url: string): Promise<void> {
    const c = this.#clients.get(url);
    if (!c) return;
    this.#clients.delete(url);
    await c.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}
