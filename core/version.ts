import { createRequire } from 'node:module';

/**
 * Outpost's version from package.json, found from this module whether it runs compiled (dist/core/) or
 * from sources (core/, under tsx).
 */
export function outpostVersion(): string {
  const require = createRequire(import.meta.url);
  for (const p of ['../package.json', '../../package.json']) {
    try {
      return (require(p) as { version: string }).version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}
