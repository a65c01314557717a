/**
 * The request pipeline: policy decision, refusals, header hygiene, then a streaming hand-off to the agent
 * over a keep-alive connection pool. No buffering: each chunk from the agent is written to the client as it
 * arrives (job output with follow=1 and the SSE event stream depend on it), with backpressure both ways.
 * A lean pipeline instead of http-proxy-3: the checks above must run before anything is forwarded anyway,
 * and skipping its pass machinery and per-request header objects roughly halves the CPU per request
 * (scripts/bench/gateway.ts measures both).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AuditLog } from './audit.js';
import { connectionState, currentMatch, type PolicyHolder } from './connection-guard.js';
import { gatewayError } from './errors.js';
import { responseHeaders, screenRequest, type Refusal } from './request-guard.js';
import type { SecurityHeaders } from './security-headers.js';

export interface UpstreamTarget {
  socketPath?: string;
  host?: string;
  port?: number;
  secret: string | undefined;
}

export interface ProxyOptions {
  holder: PolicyHolder;
  audit: AuditLog;
  security: SecurityHeaders;
  upstream: () => UpstreamTarget;
  maxBodyBytes: () => number;
  upstreamTimeoutMs: () => number;
  counters: { allowed: number; denied: number };
}

const DENIAL_CODES = {
  IP_NOT_ALLOWED: 'GATEWAY_IP_NOT_ALLOWED',
  CLIENT_NOT_ALLOWED: 'GATEWAY_CLIENT_NOT_ALLOWED',
  METHOD_NOT_ALLOWED: 'GATEWAY_METHOD_NOT_ALLOWED',
} as const;

export function createProxy(options: ProxyOptions): {
  handle(req: IncomingMessage, res: ServerResponse): void;
  refuseRaw(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void;
  agent: http.Agent;
} {
  const { holder, audit, security, counters } = options;
  // Keep-alive pool to the agent: without it every request pays a Unix-socket connect and the agent's
  // accept. LIFO reuses the warmest socket.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });

  function record(req: IncomingMessage, res: ServerResponse, started: number, bytes: number, rule: string | undefined, reason: string | undefined): void {
    const state = connectionState(req.socket);
    const ok = res.statusCode < 500 && res.writableFinished;
    if (reason === undefined) counters.allowed++;
    else counters.denied++;
    audit.write({
      time: new Date().toISOString(),
      kind: 'request',
      src: state?.sourceIp ?? req.socket.remoteAddress ?? '',
      subject: state?.subject ?? null,
      thumbprint: state?.facts.thumbprint ?? null,
      method: req.method ?? null,
      path: req.url ?? null,
      status: res.statusCode,
      bytes,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      decision: reason === undefined ? 'allow' : 'deny',
      rule: rule ?? null,
      reason: reason ?? (ok ? null : res.writableFinished ? 'UPSTREAM_ERROR' : 'ABORTED'),
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

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const state = connectionState(req.socket);
    if (!state) {
      // Only reachable if the TLS choke point was bypassed; never forward without it.
      req.socket.destroy();
      return;
    }
    const method = req.method ?? '';
    const decision = holder.policy.decide(currentMatch(state, holder), method);
    const upstream = options.upstream();
    const screened = screenRequest(method, req.rawHeaders, {
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

    let bytes = 0;
    let refusedReason: string | undefined;
    let upstreamRes: IncomingMessage | undefined;
    const upReq = http.request({
      agent,
      ...(upstream.socketPath ? { socketPath: upstream.socketPath } : { host: upstream.host, port: upstream.port }),
      method,
      path: req.url,
      headers: screened.headers as unknown as http.OutgoingHttpHeaders,
    });
    const timer = setTimeout(() => upReq.destroy(gatewayError('GATEWAY_UPSTREAM_TIMEOUT', 'agent did not answer in time')), options.upstreamTimeoutMs());

    upReq.on('response', (upRes) => {
      clearTimeout(timer);
      upstreamRes = upRes;
      const headers = responseHeaders(upRes.rawHeaders, security.names, [...security.list]);
      res.writeHead(upRes.statusCode ?? 502, headers);
      const declared = upRes.headers['content-length'];
      upRes.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // The whole body in one chunk (small answers): end with it, so headers and body leave in one
        // write and one TLS record instead of two. Anything longer streams chunk by chunk.
        if (bytes === chunk.length && declared !== undefined && Number(declared) === chunk.length) {
          res.end(chunk);
          return;
        }
        if (!res.write(chunk)) upRes.pause();
      });
      upRes.on('end', () => {
        if (!res.writableEnded) res.end();
      });
      upRes.on('error', () => res.destroy());
    });
    res.on('drain', () => upstreamRes?.resume());
    upReq.on('error', (err) => {
      clearTimeout(timer);
      if (refusedReason !== undefined) return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const timeout = gatewayError.is(err, 'GATEWAY_UPSTREAM_TIMEOUT');
      const code = timeout ? 'GATEWAY_UPSTREAM_TIMEOUT' : 'GATEWAY_UPSTREAM_UNAVAILABLE';
      const e = gatewayError(code, timeout ? 'the agent did not answer in time' : 'the agent is not reachable');
      // Answer, then account it as an upstream failure (the decision itself was allow).
      const body = JSON.stringify(e.toJSON());
      res.shouldKeepAlive = false;
      res.writeHead(e.status, [...security.list, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))]);
      res.end(body);
    });
    res.once('close', () => {
      clearTimeout(timer);
      // Client went away mid-answer (a follow stream closed): stop the agent side too.
      if (!res.writableFinished) upReq.destroy();
      record(req, res, started, bytes, decision.rule, refusedReason);
    });

    if (method === 'GET') {
      upReq.end();
      req.resume();
      return;
    }
    // POST body: counted against maxBodyBytes even when chunked (no Content-Length to refuse it up front).
    const max = options.maxBodyBytes();
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > max) {
        upReq.destroy();
        req.removeAllListeners('data');
        refusedReason = 'BODY_TOO_LARGE';
        if (!res.headersSent) {
          sendError(req, res, 413, 'GATEWAY_BODY_TOO_LARGE', `body exceeds ${max} bytes`, started, decision.rule, refusedReason, false);
        } else res.destroy();
        return;
      }
      if (!upReq.write(chunk)) req.pause();
    });
    upReq.on('drain', () => req.resume());
    req.on('end', () => upReq.end());
  }

  return { handle, refuseRaw, agent };
}
