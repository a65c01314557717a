/**
 * `Idempotency-Key` on `POST /v1/jobs` (docs/agent.md, "Submitting a job exactly once"): a client that
 * lost the answer to a submission sends it again with the same key and gets the job that already exists
 * instead of a second one. Pure: key checks, request fingerprints and the in-memory index of recent keys;
 * the job store feeds the index from its records, so it survives restarts.
 */
import { createHash } from 'node:crypto';
import { agentError } from './errors.js';
import type { SubmittedBy } from './job-record.js';

/**
 * Letters, digits and `. _ : -`, 1–128 characters: enough for a UUID, a ULID or `run-id:host`, and
 * nothing a log line or a file name could be confused by.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The header's value, checked; undefined when the request has none. */
export function parseIdempotencyKey(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw agentError(
      'AGENT_IDEMPOTENCY_KEY_INVALID',
      'Idempotency-Key must be 1-128 characters: letters, digits and . _ : - (starting with a letter or digit), given once',
    );
  }
  return value;
}

/** JSON with object keys sorted at every level, so the same request hashes the same however it was written. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 of the validated request: what "the same body" means for a repeated key. */
export function requestFingerprint(request: unknown): string {
  return createHash('sha256').update(canonical(request)).digest('hex');
}

/**
 * Keys are the client's own namespace: two masters (told apart by their certificate, as the gateway
 * reports it) may pick the same key without seeing each other's jobs.
 */
export function idempotencyScope(submittedBy: SubmittedBy | null, key: string): string {
  return `${submittedBy?.thumbprint ?? submittedBy?.subject ?? ''}\n${key}`;
}

export interface KnownKey {
  readonly id: string;
  readonly fingerprint: string;
  /** When the job was created (epoch ms): the key is remembered for the window from then. */
  readonly at: number;
}

/**
 * Keys of the jobs created within the window, by scope. Entries go in roughly in creation order, so
 * pruning walks from the oldest and stops at the first one still inside the window.
 */
export class IdempotencyIndex {
  private readonly byScope = new Map<string, KnownKey>();
  private readonly scopeOf = new Map<string, string>();

  constructor(private readonly windowMs: number) {}

  get size(): number {
    return this.byScope.size;
  }

  remember(scope: string, known: KnownKey, now: number): void {
    if (known.at < now - this.windowMs) return;
    const previous = this.byScope.get(scope);
    if (previous) this.scopeOf.delete(previous.id);
    this.byScope.set(scope, known);
    this.scopeOf.set(known.id, scope);
  }

  /** The job a key names, if it was created within the window. */
  lookup(scope: string, now: number): KnownKey | undefined {
    this.prune(now);
    const known = this.byScope.get(scope);
    return known && known.at >= now - this.windowMs ? known : undefined;
  }

  /** The job is gone (never accepted, or removed by retention): its key no longer names it. */
  forget(id: string): void {
    const scope = this.scopeOf.get(id);
    if (scope === undefined) return;
    this.scopeOf.delete(id);
    if (this.byScope.get(scope)?.id === id) this.byScope.delete(scope);
  }

  prune(now: number): void {
    const oldest = now - this.windowMs;
    for (const [scope, known] of this.byScope) {
      if (known.at >= oldest) break;
      this.byScope.delete(scope);
      this.scopeOf.delete(known.id);
    }
  }
}
