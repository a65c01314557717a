/**
 * Freezes a parsed configuration all the way down. Its own module (no yaml/zod imports) so code that only
 * receives an already-validated config — e.g. from a worker thread — can freeze it without loading them.
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
