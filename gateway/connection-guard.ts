/**
 * Everything decided per connection, before any HTTP is parsed:
 *  - the source must be listed by some access rule, and under its connection limit — otherwise the TCP
 *    connection is closed before the TLS handshake (an unlisted host never reaches OpenSSL);
 *  - the TLS choke point: the server runs with `rejectUnauthorized: false` so that *this* function sees
 *    every completed handshake, records why a client certificate was refused (Node would close the socket
 *    without saying why) and destroys every socket that is not authorized.
 * What it learns (source, thumbprint, subject, the rule that applies) is kept on the socket, so requests
 * on a keep-alive connection cost one method check.
 */
import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { recheckPeer, type TrustSet } from './peer-recheck.js';
import { isoNow, type AuditLog } from './audit.js';
import { AuditRateLimit, type HeldBack } from './audit-rate-limit.js';
import { parseAddress, type ParsedAddress } from './checks/cidr.js';
import type { ConnectionFacts } from './checks/check.js';
import type { Policy, RuleMatch } from './policy.js';
import { keyWeakness } from '../ca/keys.js';
import { tlsErrorDetail } from './tls-error-detail.js';

export interface ConnectionState {
  sourceIp: string;
  facts: ConnectionFacts;
  /** RFC 4514-style `CN=…,O=…`, sanitized for a header; undefined without a verified certificate. */
  subject: string | undefined;
  generation: number;
  match: RuleMatch;
  peer: X509Certificate | undefined;
  /** performance.now() when the handshake completed. */
  opened: number;
  /** Requests seen on this connection (limits.maxRequestsPerConnection). */
  requests: number;
  /** Responses not yet finished; the connection is only closed for its age between requests. */
  inFlight: number;
  /** Past limits.maxConnectionAgeSeconds: the next response closes the connection. */
  expired: boolean;
}

const STATE = Symbol('outpost.connection');
/** The source as seen when the TCP connection arrived: a reset clears remoteAddress before the audit line. */
const SOURCE = Symbol('outpost.source');
/** Set on a TCP connection refused before TLS: Node still reports its end as a handshake error. */
const REFUSED = Symbol('outpost.refused');
type WithSource = Socket & { [SOURCE]?: string; [REFUSED]?: true };
type WithState = Socket & { [STATE]?: ConnectionState };

export interface PolicyHolder {
  policy: Policy;
  generation: number;
  requireClientCert: boolean;
  connectionsPerSource: number;
  maxRequestsPerConnection: number;
  /** 0: no age limit. */
  maxConnectionAgeMs: number;
  /** auditRateLimit.intervalSeconds in ms; 0: every unlisted-source refusal gets its own line. */
  auditIntervalMs: number;
}

/** Unlisted sources tracked by the audit rate limit at most (a few MB); past it the oldest is evicted. */
export const MAX_RATE_LIMITED_SOURCES = 10_000;

/** Bytes outside printable ASCII would make Node throw on setHeader; escape them as \xHH. */
export function headerSafe(text: string): string {
  return /[^\x20-\x7e]/.test(text) ? text.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : text;
}

export function connectionState(socket: Socket): ConnectionState | undefined {
  return (socket as WithState)[STATE];
}

/** The rule for this connection under the current policy (recomputed once after a reload). */
export function currentMatch(state: ConnectionState, holder: PolicyHolder): RuleMatch {
  if (state.generation !== holder.generation) {
    state.match = holder.policy.matchConnection(state.facts);
    state.generation = holder.generation;
  }
  return state.match;
}

function sourceOf(socket: Socket): { ip: string; addr: ParsedAddress | undefined } {
  const raw = socket.remoteAddress ?? '';
  const addr = parseAddress(raw);
  // Report IPv4-mapped sources as plain IPv4, as the allowlist sees them.
  const ip = addr?.family === 4 && raw.includes(':') ? raw.slice(raw.lastIndexOf(':') + 1) : raw;
  return { ip, addr };
}

export interface ConnectionGuard {
  onConnection(socket: Socket): void;
  onSecureConnection(socket: TLSSocket): void;
  onTlsClientError(err: Error & { code?: string; reason?: unknown }, socket: TLSSocket): void;
  open(): number;
  /**
   * Re-checks every open connection against the current policy and `trust` (after a reload): closes and
   * audits those no longer allowed, streams included. Returns how many were closed.
   */
  recheck(trust: TrustSet): number;
  /** Writes the summaries of rate-limit intervals that have ended (called every second). */
  flushAuditSummaries(): void;
  /** Writes every summary still held back (at stop). */
  drainAuditSummaries(): void;
  /** Sources the audit rate limit evicted before their interval ended. */
  auditSourcesEvicted(): number;
}

/**
 * Counts a request against the connection's limits; when it is the last one the connection may carry
 * (request count or age), the response says `Connection: close` and the connection ends after it.
 */
export function beginRequest(state: ConnectionState, holder: PolicyHolder, res: { shouldKeepAlive: boolean; once(event: 'close', fn: () => void): unknown }, socket: Socket): void {
  state.requests++;
  state.inFlight++;
  if (state.expired || state.requests >= holder.maxRequestsPerConnection) res.shouldKeepAlive = false;
  res.once('close', () => {
    state.inFlight--;
    if (state.expired && state.inFlight === 0) socket.destroySoon();
  });
}

export function connectionGuard(holder: PolicyHolder, audit: AuditLog, counters: { connectionsRefused: number }): ConnectionGuard {
  const perSource = new Map<string, number>();
  const live = new Set<TLSSocket>();
  let open = 0;
  const rateLimit = new AuditRateLimit(holder.auditIntervalMs, MAX_RATE_LIMITED_SOURCES);

  function summarise(held: readonly HeldBack[]): void {
    for (const h of held) {
      audit.write({
        time: isoNow(),
        kind: 'connection',
        src: h.src,
        subject: null,
        thumbprint: null,
        method: null,
        path: null,
        status: null,
        bytes: 0,
        durationMs: 0,
        decision: 'deny',
        rule: null,
        reason: 'IP_NOT_ALLOWED',
        count: h.count,
        firstAt: isoNow(h.firstAt),
        lastAt: isoNow(h.lastAt),
      });
    }
  }

  /** A reload may change the interval; switching the limit off writes what it held. */
  function syncInterval(): void {
    if (rateLimit.intervalMs === holder.auditIntervalMs) return;
    if (holder.auditIntervalMs === 0) summarise(rateLimit.drain());
    rateLimit.intervalMs = holder.auditIntervalMs;
  }

  function refuse(src: string, reason: string, started: number, who?: { subject?: string; thumbprint?: string; rule?: string }, detail?: string): void {
    counters.connectionsRefused++;
    audit.write({
      time: new Date().toISOString(),
      kind: 'connection',
      src,
      subject: who?.subject ?? null,
      thumbprint: who?.thumbprint ?? null,
      method: null,
      path: null,
      status: null,
      bytes: 0,
      durationMs: Math.round(performance.now() - started),
      decision: 'deny',
      rule: who?.rule ?? null,
      reason,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  return {
    open: () => open,
    onConnection(socket) {
      const started = performance.now();
      const { ip, addr } = sourceOf(socket);
      (socket as WithSource)[SOURCE] = ip;
      if (!holder.policy.sourceListed(addr)) {
        // A scan from an unlisted source would otherwise write a line per connection.
        syncInterval();
        const { write, summaries } = rateLimit.hit(ip, Date.now());
        summarise(summaries);
        if (write) refuse(ip, 'IP_NOT_ALLOWED', started);
        else counters.connectionsRefused++;
        (socket as WithSource)[REFUSED] = true;
        socket.destroy();
        return;
      }
      const n = (perSource.get(ip) ?? 0) + 1;
      if (n > holder.connectionsPerSource) {
        refuse(ip, 'TOO_MANY_CONNECTIONS', started);
        (socket as WithSource)[REFUSED] = true;
        socket.destroy();
        return;
      }
      perSource.set(ip, n);
      open++;
      socket.once('close', () => {
        open--;
        const left = (perSource.get(ip) ?? 1) - 1;
        if (left <= 0) perSource.delete(ip);
        else perSource.set(ip, left);
      });
    },
    onSecureConnection(socket) {
      const started = performance.now();
      const { ip, addr } = sourceOf(socket);
      const peer = socket.getPeerX509Certificate();
      const thumbprint = peer ? peer.fingerprint256.replace(/:/g, '') : undefined;
      const subjectPairs = peer ? peer.subject.split('\n').filter((p) => p !== '') : undefined;
      const subject = subjectPairs ? headerSafe(subjectPairs.join(',')) : undefined;
      if (!peer && holder.requireClientCert) {
        refuse(ip, 'NO_CLIENT_CERT', started);
        socket.destroy();
        return;
      }
      // Node 20's OpenSSL runs at security level 1, which still verifies an RSA-1024 client certificate
      // (Node 24's level 2 reports EE_KEY_TOO_SMALL): one reason for both, checked first.
      if (peer && keyWeakness(peer.publicKey)) {
        refuse(ip, 'CLIENT_KEY_TOO_WEAK', started, { ...(subject ? { subject } : {}), ...(thumbprint ? { thumbprint } : {}) });
        socket.destroy();
        return;
      }
      if (peer && !socket.authorized) {
        // authorizationError is OpenSSL's verify result: CERT_REVOKED, CERT_HAS_EXPIRED,
        // UNABLE_TO_VERIFY_LEAF_SIGNATURE (another CA), UNSUPPORTED_CERTIFICATE_PURPOSE (a server cert) …
        const reason = String(socket.authorizationError ?? 'CERT_UNVERIFIED');
        refuse(ip, reason, started, { ...(subject ? { subject } : {}), ...(thumbprint ? { thumbprint } : {}) });
        socket.destroy();
        return;
      }
      const facts: ConnectionFacts = { source: addr, thumbprint, subjectPairs };
      const state: ConnectionState = {
        sourceIp: ip,
        facts,
        subject,
        generation: holder.generation,
        match: holder.policy.matchConnection(facts),
        peer: peer ?? undefined,
        opened: started,
        requests: 0,
        inFlight: 0,
        expired: false,
      };
      (socket as WithState)[STATE] = state;
      live.add(socket);
      let ageTimer: NodeJS.Timeout | undefined;
      if (holder.maxConnectionAgeMs > 0) {
        // nginx's keepalive_time: no new request past the age; a response in flight still finishes.
        ageTimer = setTimeout(() => {
          state.expired = true;
          if (state.inFlight === 0) socket.destroySoon();
        }, holder.maxConnectionAgeMs).unref();
      }
      socket.once('close', () => {
        live.delete(socket);
        clearTimeout(ageTimer);
      });
    },
    recheck(trust) {
      let closed = 0;
      for (const socket of live) {
        const state = connectionState(socket);
        if (!state) continue;
        const previous = state.match.rule?.name;
        let reason: string | undefined;
        if (state.peer) reason = recheckPeer(state.peer, trust);
        else if (holder.requireClientCert) reason = 'NO_CLIENT_CERT';
        if (!reason && !holder.policy.sourceListed(state.facts.source)) reason = 'IP_NOT_ALLOWED';
        if (!reason) {
          const match = currentMatch(state, holder);
          // An admin rule allows the connection too: it is how the master rotates this gateway's certificate.
          if (!match.rule && !holder.policy.matchAdmin(state.facts)) reason = match.reason ?? 'CLIENT_NOT_ALLOWED';
        }
        if (!reason) continue;
        closed++;
        live.delete(socket);
        // The rule it had been using tells this closure from a refused handshake (whose rule is null).
        refuse(state.sourceIp, reason, state.opened, {
          ...(state.subject ? { subject: state.subject } : {}),
          ...(state.facts.thumbprint ? { thumbprint: state.facts.thumbprint } : {}),
          ...(previous ? { rule: previous } : {}),
        });
        socket.destroy();
      }
      return closed;
    },
    flushAuditSummaries() {
      syncInterval();
      summarise(rateLimit.due(Date.now()));
    },
    drainAuditSummaries() {
      summarise(rateLimit.drain());
    },
    auditSourcesEvicted: () => rateLimit.evicted,
    onTlsClientError(err, socket) {
      // After a reset both sockets have lost remoteAddress; the raw TCP socket (the TLS socket's _parent,
      // which Node exposes no other way) still carries what onConnection saw.
      const raw = (socket as TLSSocket & { _parent?: WithSource })._parent;
      // Already refused and audited by onConnection; its destroy() surfaces here as ECONNRESET.
      if (raw?.[REFUSED]) {
        socket.destroy();
        return;
      }
      const ip = sourceOf(socket).ip || (raw?.[SOURCE] ?? '');
      // Handshakes that never complete: protocol version, no shared cipher, renegotiation attempts, resets.
      refuse(ip, err.code ?? 'TLS_HANDSHAKE_FAILED', performance.now(), undefined, tlsErrorDetail(err));
      socket.destroy();
    },
  };
}
