/** Small HTTP translation helpers for the agent API: JSON bodies in, JSON and errors out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OutpostError } from '../core/errors.js';
import { agentError } from './errors.js';

export const MAX_BODY = 1024 * 1024;

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw agentError('AGENT_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be application/json, not ${type || '(none)'}`);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw agentError('AGENT_BODY_TOO_LARGE', `request body of ${declared} bytes exceeds ${MAX_BODY}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw agentError('AGENT_BODY_TOO_LARGE', `request body exceeds ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw agentError('AGENT_BAD_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Drains an unwanted body so keep-alive connections stay usable. */
export async function discardBody(req: IncomingMessage): Promise<void> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw agentError('AGENT_BODY_TOO_LARGE', `request body exceeds ${MAX_BODY} bytes`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

const GONE_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * True when `err` only says the caller went away mid-request (half a body, then a close): Node ends the
 * body with `Error: aborted` (ECONNRESET). Checked against the request's own socket too, so a reset of
 * another connection (an SSH target) stays an internal error.
 */
export function clientWentAway(err: unknown, req: IncomingMessage): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (!(code !== undefined && GONE_CODES.has(code)) && err.message !== 'aborted') return false;
  return req.destroyed || req.socket.destroyed;
}

/** 5xx answers say little (the log has the rest); 4xx answers say what to fix. */
export function toOutpostError(err: unknown): OutpostError {
  if (err instanceof OutpostError) return err;
  return agentError('AGENT_INTERNAL', 'internal error; see the agent log', { cause: err });
}

export function sendError(res: ServerResponse, err: OutpostError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  const retry = err.details?.retryAfterSeconds;
  if (typeof retry === 'number') headers['retry-after'] = String(retry);
  if (err.code === 'AGENT_METHOD_NOT_ALLOWED' && typeof err.details?.allow === 'string') headers.allow = err.details.allow;
  sendJson(res, err.status, err.toJSON(), headers);
}
