/**
 * The request pipeline: policy decision, refusals, header hygiene, then a streaming hand-off to the agent
 * (forward.ts) over the gateway's own keep-alive pool (upstream-pool.ts). No buffering: each chunk from the agent is written to the
 * client as it arrives (job output with follow=1 and the SSE event stream depend on it).
 * A lean pipeline instead of http-proxy-3: the checks must run before anything is forwarded anyway, and
 * skipping its pass machinery, http.request and per-request header objects costs about half the CPU per
 * request (scripts/bench/gateway.ts measures the gateway next to a Node https + http-proxy-3 proxy).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isoNow, type AuditLog } from './audit.js';
import { beginRequest, connectionState, currentMatch, type ConnectionState, type PolicyHolder } from './connection-guard.js';

const CONN = Symbol('outpost.requestConnection');
import { gatewayError } from './errors.js';
import { screenRequest, type Refusal } from './request-guard.js';
import { forward, type UpstreamTarget } from './forward.js';
import type { UpstreamPool } from './upstream-pool.js';
import type { SecurityHeaders } from './security-headers.js';

export type { UpstreamTarget } from './forward.js';

export interface ProxyOptions {
  holder: PolicyHolder;
  audit: AuditLog;
  security: SecurityHeaders;
  upstream: () => UpstreamTarget;
  /** The keep-alive pool to the agent (replaced on reload when upstream: changes). */
  pool: () => UpstreamPool;
  maxBodyBytes: () => number;
  counters: { allowed: number; denied: number };
}

const DENIAL_CODES = {
  IP_NOT_ALLOWED: 'GATEWAY_IP_NOT_ALLOWED',
  CLIENT_NOT_ALLOWED: 'GATEWAY_CLIENT_NOT_ALLOWED',
  METHOD_NOT_ALLOWED: 'GATEWAY_METHOD_NOT_ALLOWED',
} as const;

export function createProxy(options: ProxyOptions): {
  handle(req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean): void;
  refuseRaw(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void;
} {
  const { holder, audit, security, counters } = options;

  function record(req: IncomingMessage, res: ServerResponse, started: number, bytes: number, rule: string | undefined, reason: string | undefined, failure?: string): void {
    // Read the connection state now or from the request: by 'close' the socket may be detached (null).
    const state = (req as { [CONN]?: ConnectionState })[CONN] ?? (req.socket ? connectionState(req.socket) : undefined);
    const ok = res.statusCode < 500 && res.writableFinished;
    if (reason === undefined) counters.allowed++;
    else counters.denied++;
    audit.write({
      time: isoNow(),
      kind: 'request',
      src: state?.sourceIp ?? req.socket?.remoteAddress ?? '',
      subject: state?.subject ?? null,
      thumbprint: state?.facts.thumbprint ?? null,
      method: req.method ?? null,
      path: req.url ?? null,
      status: res.statusCode,
      bytes,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      decision: reason === undefined ? 'allow' : 'deny',
      rule: rule ?? null,
      reason: reason ?? failure ?? (ok ? null : res.writableFinished ? 'UPSTREAM_ERROR' : 'ABORTED'),
    });
  }

  function sendError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, started: number, rule: string | undefined, reason: string, recordOnClose = true): void {
    const body = JSON.stringify({ error: { code, message } });
    // A refused request's body is never read, so the connection cannot carry another request safely.
    res.shouldKeepAlive = false;
    res.writeHead(status, [...security.list, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store']);
    res.end(body);
    if (recordOnClose) res.once('close', () => record(req, res, started, Buffer.byteLength(body), rule, reason));
  }

  function refuseRaw(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
    sendError(req, res, refusal.status, refusal.code, refusal.reason, performance.now(), undefined, refusal.code.replace(/^GATEWAY_/, ''));
  }

  /** `expectsContinue`: the client waits for `100 Continue`, sent only once every check has passed. */
  function handle(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    const started = performance.now();
    const state = connectionState(req.socket);
    (req as { [CONN]?: ConnectionState })[CONN] = state;
    if (!state) {
      // Only reachable if the TLS choke point was bypassed; never forward without it.
      req.socket.destroy();
      return;
    }
    beginRequest(state, holder, res, req.socket);
    const method = req.method ?? '';
    const decision = holder.policy.decide(currentMatch(state, holder), method);
    const upstream = options.upstream();
    const screened = screenRequest(method, req.url ?? '', req.rawHeaders, {
      sourceIp: state.sourceIp,
      subject: state.subject,
      thumbprint: state.facts.thumbprint,
      secret: upstream.secret,
    }, options.maxBodyBytes());
    if ('code' in screened) {
      sendError(req, res, screened.status, screened.code, screened.reason, started, decision.rule, screened.code.replace(/^GATEWAY_/, ''));
      return;
    }
    if (!decision.allow) {
      const reason = decision.reason ?? 'IP_NOT_ALLOWED';
      const code = DENIAL_CODES[reason];
      const err = gatewayError(code, reason === 'METHOD_NOT_ALLOWED' ? `rule ${decision.rule} does not allow ${method}` : 'access denied');
      sendError(req, res, err.status, code, err.message, started, decision.rule, reason);
      return;
    }

    // A refused request (too large, denied) never gets `100 Continue`: the client does not send the body.
    if (expectsContinue) res.writeContinue();
    forward({
      pool: options.pool(),
      req,
      res,
      method: method as 'GET' | 'POST',
      headers: screened.headers,
      contentLength: screened.contentLength,
      chunked: screened.chunked,
      maxBodyBytes: options.maxBodyBytes(),
      security,
      done: (bytes, failure) => record(req, res, started, bytes, decision.rule, failure === 'BODY_TOO_LARGE' ? failure : undefined, failure),
    });
  }

  return { handle, refuseRaw };
}
