/**
 * Certificate and CRL lifetimes: `--lifetime 90s|30m|1h|7d` beside `--days N`. Short lifetimes are what
 * `outpost ca maintain` makes practical (it renews at two thirds of a lifetime), so they go down to
 * seconds; the backdating that absorbs clock differences shrinks with them.
 */
import { caError } from './errors.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const MIN_LIFETIME_MS = 10_000;
/** Backdating is 5 minutes, but never more than a quarter of the lifetime. */
export const MAX_BACKDATE_MS = 5 * 60_000;

/** `90s`, `30m`, `1h`, `7d` → milliseconds; throws CA_INVALID_VALIDITY for anything else. */
export function parseLifetime(text: string, option = '--lifetime'): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m) throw caError('CA_INVALID_VALIDITY', `${option} must be a number and a unit (s, m, h, d), e.g. 1h or 7d; got ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms < MIN_LIFETIME_MS) throw caError('CA_INVALID_VALIDITY', `${option} must be at least 10s`);
  return ms;
}

export function backdateFor(lifetimeMs: number): number {
  return Math.min(MAX_BACKDATE_MS, Math.floor(lifetimeMs / 4));
}

/** `--days` and `--lifetime` as one value in milliseconds (undefined: the caller's default). */
export function lifetimeFrom(o: { days?: string | undefined; lifetime?: string | undefined }, maxDays: number): number | undefined {
  if (o.days !== undefined && o.lifetime !== undefined) throw caError('CA_INVALID_VALIDITY', 'give --days or --lifetime, not both');
  if (o.lifetime !== undefined) {
    const ms = parseLifetime(o.lifetime);
    if (ms > maxDays * UNIT_MS.d) throw caError('CA_INVALID_VALIDITY', `--lifetime must be at most ${maxDays}d`);
    return ms;
  }
  return undefined;
}

/** `1h`, `20m`, `7d`: a lifetime printed back the way it is given. */
export function formatLifetime(ms: number): string {
  for (const [unit, size] of [['d', UNIT_MS.d], ['h', UNIT_MS.h], ['m', UNIT_MS.m]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

/** The lifetime a certificate was issued with, from its notBefore..notAfter span (undoes backdateFor). */
export function lifetimeOfSpan(spanMs: number): number {
  return spanMs * 0.8 <= MAX_BACKDATE_MS ? Math.round(spanMs * 0.8) : spanMs - MAX_BACKDATE_MS;
}
