/**
 * The audit trail: one JSON line per request and per connection refused before HTTP (source not listed,
 * too many connections, failed TLS handshake, unverified client certificate). Fixed fields, so a line can
 * be grepped and parsed without knowing which kind it is. Written to its own file (auditLog) or stdout.
 *
 * Lines are gathered and written together at most every 20 ms (or at 64 KiB): one write per request was
 * ~7% of the gateway's CPU (each fs write is a thread-pool round trip). The buffer is handed on at once on
 * SIGTERM, SIGINT and SIGHUP (gateway/main.ts); a crash loses at most the last 20 ms of lines. The file is
 * reopened on SIGUSR1 and when it is renamed or removed (audit-file.ts), so logrotate can rotate it.
 */
import { openAuditFile, type AuditReport } from './audit-file.js';

export interface AuditEntry {
  time: string;
  kind: 'request' | 'connection';
  src: string;
  subject: string | null;
  thumbprint: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  bytes: number;
  durationMs: number;
  decision: 'allow' | 'deny';
  rule: string | null;
  reason: string | null;
  /** A refused handshake: what OpenSSL said (`unsupported protocol`, `no shared cipher`). */
  detail?: string;
  /** A summary of lines held back by the rate limit: how many, the first and the last one's time. */
  count?: number;
  firstAt?: string;
  lastAt?: string;
}

export interface AuditLog {
  write(entry: AuditEntry): void;
  /** Hands the buffered lines to the file (or stdout) now. */
  flush(): void;
  /** Opens the file again (rotation); false when it could not be (the old one stays in use). */
  reopen(why: string): boolean;
  close(): Promise<void>;
}

// Plain ASCII without `"`, `\` or control characters needs no escaping in JSON.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function str(v: string | null): string {
  return v === null ? 'null' : PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
}

/**
 * One audit line, byte for byte what JSON.stringify(entry) gives for the field order of AuditEntry.
 * Written out because JSON.stringify of the entry plus the timestamp were ~5% of the gateway's CPU per
 * request; here most strings need one regular-expression test and no escaping.
 */
export function auditLine(e: AuditEntry): string {
  return `{"time":${str(e.time)},"kind":${str(e.kind)},"src":${str(e.src)},"subject":${str(e.subject)},"thumbprint":${str(e.thumbprint)},` +
    `"method":${str(e.method)},"path":${str(e.path)},"status":${JSON.stringify(e.status)},"bytes":${JSON.stringify(e.bytes)},` +
    `"durationMs":${JSON.stringify(e.durationMs)},"decision":${str(e.decision)},"rule":${str(e.rule)},"reason":${str(e.reason)}${optional(e)}}\n`;
}

/** The fields only some lines carry, left out when absent (as JSON.stringify leaves out undefined). */
function optional(e: AuditEntry): string {
  if (e.detail === undefined && e.count === undefined && e.firstAt === undefined && e.lastAt === undefined) return '';
  return (e.detail === undefined ? '' : `,"detail":${str(e.detail)}`) +
    (e.count === undefined ? '' : `,"count":${JSON.stringify(e.count)}`) +
    (e.firstAt === undefined ? '' : `,"firstAt":${str(e.firstAt)}`) +
    (e.lastAt === undefined ? '' : `,"lastAt":${str(e.lastAt)}`);
}

let isoSecond = -1;
let isoPrefix = '';

/** `new Date().toISOString()`, with the part up to the second computed once per second. */
export function isoNow(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

const FLUSH_MS = 20;
const FLUSH_BYTES = 64 * 1024;

const toStderr = (message: string, meta: Record<string, unknown>): void => void process.stderr.write(`${message} ${JSON.stringify(meta)}\n`);
const stderrReport: AuditReport = { info: toStderr, error: toStderr };

export function openAuditLog(target: string, stdout: NodeJS.WritableStream = process.stdout, report: AuditReport = stderrReport): AuditLog {
  const file = target === '-' ? undefined : openAuditFile(target, report);
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending === '') return;
    // Checked before the batch is written, so a batch after a noticed rename goes to the new file.
    if (file) {
      file.check();
      file.write(pending);
    } else {
      stdout.write(pending);
    }
    pending = '';
  };
  return {
    write(entry) {
      pending += auditLine(entry);
      if (pending.length >= FLUSH_BYTES) flush();
      else timer ??= setTimeout(flush, FLUSH_MS);
    },
    flush,
    reopen(why) {
      if (!file) return true;
      // Lines gathered before the reopen go to the old file: each file holds one stretch of time.
      flush();
      return file.reopen(why);
    },
    close() {
      flush();
      return file ? file.close() : Promise.resolve();
    },
  };
}
