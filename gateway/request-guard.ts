/**
 * What is refused before a request is proxied, and the header hygiene applied to what is. One pass over
 * `rawHeaders` does both, because this runs for every request and Node's lowercased `req.headers` object
 * would be another allocation.
 *
 * Refused: any method but GET and POST (http-proxy forwards a chunked DELETE as a smuggled request —
 * https://github.com/http-party/node-http-proxy/issues/1647 — so the agent must never see one), protocol
 * upgrades, bodies on GET, Content-Length together with Transfer-Encoding, repeated Content-Length and any
 * Transfer-Encoding but `chunked` (RFC 9112 §6.3: the ingredients of CL.TE / TE.CL smuggling).
 */

import { firstLetterFilter } from './first-letter-filter.js';

export interface Refusal {
  status: 400 | 405 | 413;
  code: 'GATEWAY_METHOD_REFUSED' | 'GATEWAY_BAD_REQUEST' | 'GATEWAY_BODY_TOO_LARGE';
  reason: string;
}

export interface Screened {
  /** Headers to send upstream (flat name/value list), without hop-by-hop or client-claimed identity. */
  headers: string[];
  /** Declared body length; undefined when chunked or absent. */
  contentLength: number | undefined;
  chunked: boolean;
}

/** Identity and source the gateway vouches for; added after the client's copies are dropped. */
export interface ForwardIdentity {
  sourceIp: string;
  subject: string | undefined;
  thumbprint: string | undefined;
  secret: string | undefined;
}

// Hop-by-hop (RFC 9110 §7.6.1) plus headers whose client-sent values must never reach the agent.
export const DROPPED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  // Reserved (IANA) so that it can never be confused with the `close` connection option.
  'close',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  // Node already answered 100-continue to the client; the agent gets a plain request.
  'expect',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
]);

// X-Forwarded-For/-Proto/-Host/-Port/…, and our own identity headers (x-outpost-client-*, x-outpost-secret)
// which only the gateway may set.
export const DROPPED_PREFIXES = ['x-forwarded-', 'x-outpost-'] as const;

/** The headers the first pass reads to decide framing and refusals. */
export const FRAMING_HEADERS = ['content-length', 'transfer-encoding', 'upgrade', 'connection'] as const;

/** Fast paths: false means the name is certainly not in the list each was derived from. */
export const mayBeFraming = firstLetterFilter(FRAMING_HEADERS);
export const mayBeDropped = firstLetterFilter(DROPPED_HEADERS, DROPPED_PREFIXES);

/** The slow, exact answer: is this (lowercase) header removed before forwarding? */
export function dropped(lower: string, connectionListed: readonly string[] | undefined): boolean {
  if (DROPPED_HEADERS.has(lower)) return true;
  if (DROPPED_PREFIXES.some((p) => lower.startsWith(p))) return true;
  // RFC 9110 §7.6.1: every field the Connection header names is hop-by-hop, whatever its name.
  return connectionListed !== undefined && connectionListed.includes(lower);
}

function refuse(status: Refusal['status'], code: Refusal['code'], reason: string): Refusal {
  return { status, code, reason };
}

export function screenRequest(
  method: string,
  target: string,
  rawHeaders: readonly string[],
  identity: ForwardIdentity,
  maxBodyBytes: number,
): Refusal | Screened {
  if (method !== 'GET' && method !== 'POST') return refuse(405, 'GATEWAY_METHOD_REFUSED', `method ${method} is not forwarded`);
  // Origin-form only (RFC 9112 §3.2.1): an absolute-form target (GET http://other/ …) would let a client
  // name a different authority than the one the policy and the agent's records assume.
  if (target.charCodeAt(0) !== 0x2f) return refuse(400, 'GATEWAY_BAD_REQUEST', 'the request target must be a path starting with /');

  let contentLengthText: string | undefined;
  let contentLengthCount = 0;
  let transferEncoding: string | undefined;
  let connectionListed: string[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (!mayBeFraming(name)) continue;
    const lower = name.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (lower === 'content-length') {
      contentLengthCount++;
      contentLengthText = value;
    } else if (lower === 'transfer-encoding') {
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    } else if (lower === 'upgrade') {
      return refuse(405, 'GATEWAY_METHOD_REFUSED', 'protocol upgrades are not forwarded');
    } else if (lower === 'connection') {
      const tokens = value.toLowerCase().split(',').map((s) => s.trim());
      if (tokens.includes('upgrade')) return refuse(405, 'GATEWAY_METHOD_REFUSED', 'protocol upgrades are not forwarded');
      // Names already dropped need no per-header check (so `Connection: keep-alive` keeps the fast path).
      for (const token of tokens) if (token !== '' && !dropped(token, undefined)) (connectionListed ??= []).push(token);
    }
  }

  let contentLength: number | undefined;
  let chunked = false;
  if (contentLengthCount > 1) return refuse(400, 'GATEWAY_BAD_REQUEST', 'more than one Content-Length header');
  if (transferEncoding !== undefined) {
    if (contentLengthCount > 0) return refuse(400, 'GATEWAY_BAD_REQUEST', 'Content-Length together with Transfer-Encoding');
    if (transferEncoding.trim().toLowerCase() !== 'chunked') {
      return refuse(400, 'GATEWAY_BAD_REQUEST', `Transfer-Encoding "${transferEncoding}" is not accepted (only chunked)`);
    }
    chunked = true;
  }
  if (contentLengthText !== undefined) {
    if (!/^\d{1,15}$/.test(contentLengthText)) return refuse(400, 'GATEWAY_BAD_REQUEST', 'Content-Length is not a number');
    contentLength = Number(contentLengthText);
  }
  if (method === 'GET' && (chunked || (contentLength ?? 0) > 0)) {
    return refuse(400, 'GATEWAY_BAD_REQUEST', 'a GET request must not carry a body');
  }
  if (contentLength !== undefined && contentLength > maxBodyBytes) {
    return refuse(413, 'GATEWAY_BODY_TOO_LARGE', `body of ${contentLength} bytes exceeds ${maxBodyBytes}`);
  }

  const headers: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Names listed by Connection can start with any letter: then every header takes the exact check.
    if ((connectionListed !== undefined || mayBeDropped(name)) && dropped(name.toLowerCase(), connectionListed)) continue;
    headers.push(name, rawHeaders[i + 1]!);
  }
  if (contentLength !== undefined) headers.push('content-length', String(contentLength));
  headers.push('x-forwarded-for', identity.sourceIp, 'x-forwarded-proto', 'https');
  if (identity.subject !== undefined) headers.push('x-outpost-client-subject', identity.subject);
  if (identity.thumbprint !== undefined) headers.push('x-outpost-client-thumbprint', identity.thumbprint);
  if (identity.secret !== undefined) headers.push('x-outpost-secret', identity.secret);
  return { headers, contentLength, chunked };
}
