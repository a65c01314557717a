/**
 * When `outpost job run` sends a submission again, and after how long. Pure: the fan-out sleeps and
 * resends. Two cases:
 *  - the agent's queue is full (503 with Retry-After): wait as asked, at most 30 s a time, 5 attempts;
 *  - the submission failed in transit (connection reset or refused, timeout, 502/503/504 from the gateway
 *    while the agent restarts): the agent may have accepted it, so it is resent only with its idempotency
 *    key, which makes the agent answer the job it already has instead of starting a second one.
 * A first attempt that never got a connection (refused, no route, connect timeout) reached nobody and is not
 * resent: the host is reported unreachable at once, so `--connect-timeout` bounds how long a dead host holds
 * its lane. After an attempt that may have arrived, a refused connection is a gateway restarting: resent.
 */

/** Attempts in all (the first included) for a submission that failed in transit. */
export const TRANSIT_ATTEMPTS = 8;
const TRANSIT_BASE_MS = 250;
const TRANSIT_MAX_MS = 5_000;
const BUSY_ATTEMPTS = 5;

/** Master error codes that mean "the request may or may not have reached the agent". */
const IN_TRANSIT = new Set(['MASTER_AGENT_UNREACHABLE', 'MASTER_CONNECT_TIMEOUT', 'MASTER_REQUEST_TIMEOUT']);
const GATEWAY_STATUSES = new Set([502, 503, 504]);

interface FailureLike {
  code?: string;
  details?: { status?: number; retryAfter?: string; connected?: boolean };
}

/** True when the failure says nothing about whether the agent got the submission. */
export function failedInTransit(err: unknown): boolean {
  const e = err as FailureLike;
  if (e.code !== undefined && IN_TRANSIT.has(e.code)) return true;
  if (e.code !== 'MASTER_AGENT_ERROR') return false;
  // No status: the answer itself broke off (a body cut short, not JSON); else a gateway's 502/503/504.
  return e.details?.status === undefined || GATEWAY_STATUSES.has(e.details.status);
}

/**
 * Milliseconds to wait before attempt `attempt + 1`, or null to give up and report the failure.
 * `random` in [0, 1) spreads retries of many hosts so a restarted gateway is not hit by all at once.
 */
export function submitRetryDelay(err: unknown, attempt: number, keyed: boolean, random: number): number | null {
  const e = err as FailureLike;
  if (e.code === 'MASTER_AGENT_BUSY') {
    if (attempt >= BUSY_ATTEMPTS) return null;
    return Math.min(30, Math.max(1, Number(e.details?.retryAfter) || 1)) * 1000;
  }
  if (!keyed || attempt >= TRANSIT_ATTEMPTS || !failedInTransit(err)) return null;
  if (attempt === 1 && e.details?.connected === false) return null;
  const ceiling = Math.min(TRANSIT_MAX_MS, TRANSIT_BASE_MS * 2 ** (attempt - 1));
  // "Equal jitter": at least half the step, so the backoff still grows.
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
