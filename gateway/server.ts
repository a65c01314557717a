/**
 * Wires the gateway together: the HTTPS listener with its limits, the connection guard (source, limits,
 * TLS choke point), the proxy pipeline, the audit log, metrics, and reload. `createGateway` takes every
 * dependency as an argument (config, logger, audit stream) so tests and the CLI build it the same way.
 */
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { LogSink } from '../core/lazy-logger.js';
import type { GatewayConfig } from './config.js';
import { compilePolicy } from './policy.js';
import { loadTlsMaterial, type TlsMaterial } from './tls.js';
import { openAuditLog, type AuditLog } from './audit.js';
import { connectionGuard, type PolicyHolder } from './connection-guard.js';
import { createProxy } from './proxy.js';
import { UpstreamPool, type UpstreamTarget } from './upstream-pool.js';
import { securityHeaders } from './security-headers.js';
import { gatewayError } from './errors.js';
import type { AdminDeps } from './admin/routes.js';
import { isAdminPath } from './admin/path.js';
import { createQuietCollector } from '../core/quiet-gc.js';
import { dropPrevious, hasPrevious, recoverRotation } from './admin/rotation-files.js';

export interface Gateway {
  readonly server: https.Server;
  address(): AddressInfo;
  metricsAddress(): AddressInfo | undefined;
  /** Applies a new configuration (certificates, CRL, policy, limits) without dropping connections. */
  reload(config: Readonly<GatewayConfig>): Promise<void>;
  close(): Promise<void>;
  tls(): TlsMaterial;
  /** Hands the buffered audit lines to the audit log now (a stop, a reload). */
  flushAudit(): void;
  /** Opens the audit log file again (rotation, SIGUSR1); false when it could not be (the old one stays). */
  reopenAuditLog(why: string): boolean;
}

async function upstreamOf(config: Readonly<GatewayConfig>): Promise<UpstreamTarget> {
  const up = config.upstream;
  if ('socket' in up) return { socketPath: up.socket, secret: undefined };
  let secret: string;
  try {
    secret = (await readFile(up.secretFile, 'utf8')).trim();
  } catch (err) {
    throw gatewayError('GATEWAY_SECRET_UNREADABLE', `upstream.secretFile ${up.secretFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  if (secret === '') throw gatewayError('GATEWAY_SECRET_UNREADABLE', `upstream.secretFile ${up.secretFile} is empty`);
  // It travels in a header: a control character or line break in it could split the request.
  if (!/^[\x21-\x7e]+$/.test(secret)) throw gatewayError('GATEWAY_SECRET_UNREADABLE', `upstream.secretFile ${up.secretFile} holds characters other than printable ASCII`);
  return { host: up.host, port: up.port, secret };
}

function rawResponse(status: number, text: string): string {
  return `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}

export async function createGateway(initial: Readonly<GatewayConfig>, logger: LogSink, auditStdout?: NodeJS.WritableStream): Promise<Gateway> {
  let config = initial;
  // A rotation killed between writing the certificate and the key is finished (or undone) first.
  const recovery = await recoverRotation(config.tls);
  if (recovery === 'rolled-forward' || recovery === 'rolled-back') logger.warn('finished an interrupted certificate rotation', { recovery, cert: config.tls.cert });
  let material = await loadTlsMaterial(config.tls);
  let upstream = await upstreamOf(config);
  let pool = new UpstreamPool(upstream, config.limits.upstreamTimeoutMs);
  const holder: PolicyHolder = {
    policy: compilePolicy(config.access, { requireClientCert: config.tls.requireClientCert }),
    generation: 1,
    requireClientCert: config.tls.requireClientCert,
    connectionsPerSource: config.limits.connectionsPerSource,
    maxRequestsPerConnection: config.limits.maxRequestsPerConnection,
    maxConnectionAgeMs: config.limits.maxConnectionAgeSeconds * 1000,
    auditIntervalMs: config.auditRateLimit.intervalSeconds * 1000,
  };
  const audit: AuditLog = openAuditLog(config.auditLog, auditStdout, logger);
  const counters = { allowed: 0, denied: 0, connectionsRefused: 0 };
  const guard = connectionGuard(holder, audit, counters);
  const summaries = setInterval(() => guard.flushAuditSummaries(), 1000).unref();
  const proxy = createProxy({
    holder,
    audit,
    security: securityHeaders(),
    upstream: () => upstream,
    pool: () => pool,
    maxBodyBytes: () => config.limits.maxBodyBytes,
    counters,
  });

  const limits = config.limits;
  const server = https.createServer({
    ...material.options,
    // The choke point in connection-guard.ts verifies, records and destroys; see there for why.
    requestCert: true,
    rejectUnauthorized: false,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
    noDelay: true,
    // TLS handshakes that stall are cut too (a slowloris before HTTP even starts).
    handshakeTimeout: limits.headersTimeoutMs,
  });
  server.on('connection', (socket: Socket) => guard.onConnection(socket));
  // Prepended: it must run before http attaches its parser to the socket.
  server.prependListener('secureConnection', (socket) => guard.onSecureConnection(socket));
  server.on('tlsClientError', (err, socket) => guard.onTlsClientError(err, socket));
  const rotation = { previousRetained: await hasPrevious(config.tls) };
  const adminDeps: AdminDeps = {
    holder, audit, logger, security: securityHeaders(), rotation,
    tls: () => config.tls,
    material: () => material,
    async applyTls() {
      const next = await loadTlsMaterial(config.tls);
      server.setSecureContext(next.options);
      material = next;
    },
  };
  // Loaded on first use: the admin routes pull in forge (CSR building), which a gateway never rotated does not need.
  let admin: Promise<(req: IncomingMessage, res: ServerResponse) => void> | undefined;
  const route = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    if (!isAdminPath(req.url)) return proxy.handle(req, res, expectsContinue);
    admin ??= import('./admin/routes.js').then((m) => m.createAdminRoutes(adminDeps).handle);
    admin
      .then((handle) => {
        // Admin bodies are small and read whole by the routes, which answer refusals themselves.
        if (expectsContinue) res.writeContinue();
        handle(req, res);
      })
      .catch((err: unknown) => {
        logger.error('admin routes failed to load', { err: (err as Error).message });
        res.destroy();
      });
  };
  // Responses whose audit line is not written yet. A request's line is written when its response closes,
  // and the last connection's 'close' comes a loop turn after the server's own: close() waits for them
  // before it closes the audit log, or a stream cut short by the stop would lose its line.
  let unrecorded = 0;
  let allRecorded: (() => void) | undefined;
  // Memory comes back once the gateway goes quiet after a burst of requests (core/quiet-gc.ts).
  const quiet = createQuietCollector();
  const track = (res: ServerResponse): void => {
    quiet.activity();
    unrecorded++;
    // Added after route(), so it runs after the listener that writes the line.
    res.once('close', () => {
      if (--unrecorded === 0) allRecorded?.();
    });
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, false);
    track(res);
  });
  // Without this listener Node answers `100 Continue` before any check, inviting an oversized body.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, true);
    track(res);
  });
  server.on('secureConnection', () => {
    // The pair replaced by a rotation is kept until the new one has served a handshake.
    if (!rotation.previousRetained) return;
    rotation.previousRetained = false;
    dropPrevious(config.tls).catch((err: unknown) => logger.warn('could not remove the previous certificate pair', { err: (err as Error).message }));
  });

  const refuseSocket = (req: IncomingMessage, socket: Socket, reason: string): void => {
    counters.denied++;
    audit.write({
      time: new Date().toISOString(), kind: 'request', src: socket.remoteAddress ?? '', subject: null, thumbprint: null,
      method: req.method ?? null, path: req.url ?? null, status: 405, bytes: 0, durationMs: 0, decision: 'deny', rule: null, reason,
    });
    socket.end(rawResponse(405, 'Method Not Allowed'));
    socket.destroySoon?.();
  };
  server.on('connect', (req: IncomingMessage, socket: Socket) => refuseSocket(req, socket, 'METHOD_REFUSED'));
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => refuseSocket(req, socket, 'UPGRADE_REFUSED'));
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    let status = 400;
    let text = 'Bad Request';
    let reason = err.code ?? 'BAD_REQUEST';
    if (err.code === 'HPE_HEADER_OVERFLOW') [status, text, reason] = [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE'];
    else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') [status, text, reason] = [408, 'Request Timeout', 'REQUEST_TIMEOUT'];
    if (err.code !== 'ECONNRESET') {
      counters.denied++;
      audit.write({
        time: new Date().toISOString(), kind: 'request', src: socket.remoteAddress ?? '', subject: null, thumbprint: null,
        method: null, path: null, status, bytes: 0, durationMs: 0, decision: 'deny', rule: null, reason,
      });
    }
    if (socket.writable && err.code !== 'ECONNRESET') socket.end(rawResponse(status, text));
    socket.destroySoon?.();
    setTimeout(() => socket.destroy(), 1000).unref();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(gatewayError('GATEWAY_LISTEN_FAILED', `cannot listen on ${config.listen.host}:${config.listen.port}: ${err.code ?? err.message}`, { cause: err })));
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  server.on('error', (err) => logger.error('gateway server error', { err: err.message }));

  let metrics: HttpServer | undefined;
  if (config.metrics) {
    // Loaded only when asked for: prom-client adds ~12 MB to an otherwise idle gateway.
    const { metricsRegistry, metricsServer } = await import('./metrics.js');
    metrics = metricsServer(
      metricsRegistry({
        certNotAfter: () => material.certNotAfter,
        caNotAfter: () => material.caNotAfter,
        crlNextUpdate: () => material.crlNextUpdate,
        counters,
        openConnections: () => guard.open(),
        auditSourcesEvicted: () => guard.auditSourcesEvicted(),
      }),
    );
    const m = config.metrics;
    await new Promise<void>((resolve, reject) => {
      metrics!.once('error', reject);
      metrics!.listen(m.port, m.host, () => resolve());
    });
  }

  return {
    server,
    address: () => server.address() as AddressInfo,
    metricsAddress: () => metrics?.address() as AddressInfo | undefined,
    tls: () => material,
    flushAudit: () => audit.flush(),
    reopenAuditLog: (why) => audit.reopen(why),
    async reload(next) {
      // Build everything first; apply only when all of it is good, so a bad file keeps the old state.
      const nextMaterial = await loadTlsMaterial(next.tls);
      const nextPolicy = compilePolicy(next.access, { requireClientCert: next.tls.requireClientCert });
      const nextUpstream = await upstreamOf(next);
      if (next.listen.host !== config.listen.host || next.listen.port !== config.listen.port) {
        logger.warn('listen address changes need a restart; keeping the current one', { listen: config.listen });
      }
      if (next.auditLog !== config.auditLog) {
        logger.warn('auditLog changes need a restart; keeping the current one (SIGUSR1 reopens it)', { auditLog: config.auditLog });
      }
      server.setSecureContext(nextMaterial.options);
      material = nextMaterial;
      if (JSON.stringify(nextUpstream) !== JSON.stringify(upstream) || next.limits.upstreamTimeoutMs !== config.limits.upstreamTimeoutMs) {
        // Requests in flight finish on the old pool; new ones use the new target.
        const old = pool;
        pool = new UpstreamPool(nextUpstream, next.limits.upstreamTimeoutMs);
        void old.close();
      }
      upstream = nextUpstream;
      holder.policy = nextPolicy;
      holder.requireClientCert = next.tls.requireClientCert;
      holder.connectionsPerSource = next.limits.connectionsPerSource;
      holder.maxRequestsPerConnection = next.limits.maxRequestsPerConnection;
      holder.maxConnectionAgeMs = next.limits.maxConnectionAgeSeconds * 1000;
      holder.auditIntervalMs = next.auditRateLimit.intervalSeconds * 1000;
      holder.generation++;
      // Open connections keep no rights the new CA set, CRL or policy would refuse to a new one.
      const closed = guard.recheck(nextMaterial.trust);
      if (closed > 0) logger.warn('closed open connections that the reloaded certificates, CRL or policy no longer allow', { closed });
      server.headersTimeout = next.limits.headersTimeoutMs;
      server.requestTimeout = next.limits.requestTimeoutMs;
      server.keepAliveTimeout = next.limits.keepAliveTimeoutMs;
      config = next;
    },
    async close() {
      quiet.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Open follow streams and event streams never end by themselves: give requests in flight a
        // grace period, then close what is left so a stop or restart cannot hang.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      if (unrecorded > 0) {
        // Bounded: a response that never closes must not hold the stop.
        await new Promise<void>((resolve) => {
          allRecorded = resolve;
          setTimeout(resolve, 2_000).unref();
        });
      }
      await pool.destroy();
      if (metrics) await new Promise<void>((resolve) => metrics!.close(() => resolve()));
      clearInterval(summaries);
      guard.drainAuditSummaries();
      await audit.close();
    },
  };
}
