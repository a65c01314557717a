/**
 * Delays between redials of a target that keeps dropping the connection (pure): capped exponential with
 * full jitter, so a hostile or broken sshd costs a few connections, not a busy loop, and many agents
 * hitting one recovering target do not redial in step.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  /** Redials before giving up. */
  readonly attempts: number;
}

export const REDIAL_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 4000, attempts: 5 };

/** The wait before redial number `attempt` (0-based), or null when the policy says give up; `random` in [0, 1). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: number): number | null {
  if (attempt >= policy.attempts) return null;
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  // Half fixed, half jitter: never a zero wait, never above the cap.
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
