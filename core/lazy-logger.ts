/**
 * An operational log with winston loaded only when a line passes the level filter. A long-running daemon
 * that logs rarely (the gateway: reloads, warnings, errors) need not keep winston and its dependencies
 * (logform, async, readable-stream, colorspace …, ~4 MB) resident while idle. Lines are the same JSON as
 * core/logger.ts writes — it is that logger, created on first use; lines keep their order while it loads.
 */
import type { Logger, LoggerOptions } from './logger.js';

/** The part of a logger the daemons use; a winston Logger satisfies it too. */
export interface LogSink {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

export interface LazyLogger extends LogSink {
  /** Resolves when every line logged so far has been handed to the stream. */
  settled(): Promise<void>;
  /** The level filter; settable (a daemon's reload), like a winston logger's. */
  level: string;
}

// winston's npm levels.
const LEVELS: Readonly<Record<string, number>> = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };

function write(l: Logger, name: 'error' | 'warn' | 'info' | 'debug', message: string, meta: Record<string, unknown> | undefined): void {
  if (meta === undefined) l[name](message);
  else l[name](message, meta);
}

export function lazyLogger(options: LoggerOptions = {}): LazyLogger {
  let level = options.level ?? process.env.OUTPOST_LOG_LEVEL ?? 'info';
  // An unknown level name is left to winston to judge, so nothing is filtered out here.
  let threshold = LEVELS[level] ?? Number.POSITIVE_INFINITY;
  let chain: Promise<Logger | undefined> = Promise.resolve(undefined);
  let logger: Logger | undefined;
  const log = (name: 'error' | 'warn' | 'info' | 'debug', message: string, meta?: Record<string, unknown>): void => {
    if (LEVELS[name]! > threshold) return;
    if (logger) {
      write(logger, name, message, meta);
      return;
    }
    chain = chain.then(async (l) => {
      l ??= (await import('./logger.js')).createLogger({ ...options, level });
      logger = l;
      write(l, name, message, meta);
      return l;
    });
  };
  return {
    error: (m, meta) => log('error', m, meta),
    warn: (m, meta) => log('warn', m, meta),
    info: (m, meta) => log('info', m, meta),
    debug: (m, meta) => log('debug', m, meta),
    settled: () => chain.then(() => undefined),
    get level() {
      return level;
    },
    set level(next: string) {
      level = next;
      threshold = LEVELS[next] ?? Number.POSITIVE_INFINITY;
      if (logger) logger.level = next;
    },
  };
}
