/**
 * `loadGatewayConfig` in a short-lived child process (core/config-isolated.ts), so zod and yaml are never
 * part of the running gateway's memory. Same result and errors as loadGatewayConfig; if the child cannot
 * run, the file is read in this process.
 */
import { loadConfigIsolated } from '../core/config-isolated.js';
import type { GatewayConfig } from './config.js';

export function loadGatewayConfigIsolated(file: string): Promise<Readonly<GatewayConfig>> {
  return loadConfigIsolated<GatewayConfig>(new URL('./config-worker.js', import.meta.url), file, async (f) =>
    (await import('./config.js')).loadGatewayConfig(f),
  );
}
