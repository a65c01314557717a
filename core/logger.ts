/**
 * JSON-lines logging (winston). Secrets are redacted by key name before anything is written, so a
 * careless `logger.info('x', { password })` still cannot leak.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';

const SECRET_KEYS = /^(password|passphrase|secret|privatekey|private_key|authorization|cookie|set-cookie|x-outpost-secret|token)$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
    else if (info[key] !== null && typeof info[key] === 'object') info[key] = redact(info[key]);
  }
  return info;
});

export interface LoggerOptions {
  level?: string;
  /** Defaults to stdout. Tests pass a stream to read what was logged. */
  stream?: Writable;
  /** Fixed fields on every line, e.g. `{ part: 'agent' }`. */
  defaultMeta?: Record<string, unknown>;
}

export type Logger = winston.Logger;

export function createLogger(options: LoggerOptions = {}): Logger {
  return winston.createLogger({
    level: options.level ?? process.env.OUTPOST_LOG_LEVEL ?? 'info',
    defaultMeta: options.defaultMeta,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  });
}
