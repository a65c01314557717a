/**
 * The audit trail: one JSON line per request and per connection refused before HTTP (source not listed,
 * too many connections, failed TLS handshake, unverified client certificate). Fixed fields, so a line can
 * be grepped and parsed without knowing which kind it is. Written to its own file (auditLog) or stdout.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

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
}

export interface AuditLog {
  write(entry: AuditEntry): void;
  close(): Promise<void>;
}

export function openAuditLog(target: string, stdout: NodeJS.WritableStream = process.stdout): AuditLog {
  const stream: NodeJS.WritableStream | WriteStream =
    target === '-' ? stdout : createWriteStream(target, { flags: 'a', mode: 0o640 });
  if (target !== '-') {
    // A full disk must not crash the gateway; the operational log says why audit lines stopped.
    (stream as WriteStream).on('error', (err) => process.stderr.write(`audit log ${target}: ${err.message}\n`));
  }
  return {
    write(entry) {
      stream.write(`${JSON.stringify(entry)}\n`);
    },
    close() {
      if (target === '-') return Promise.resolve();
      return new Promise((resolve) => (stream as WriteStream).end(() => resolve()));
    },
  };
}
