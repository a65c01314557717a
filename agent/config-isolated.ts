/**
 * `loadAgentConfig` in a short-lived child process (core/config-isolated.ts), so zod and yaml — ~20 MiB
 * once loaded — are never part of the running agent's memory. Same result and errors as loadAgentConfig.
 */
import { loadConfigIsolated } from '../core/config-isolated.js';
import type { AgentConfig } from './config.js';

export function loadAgentConfigIsolated(file: string): Promise<Readonly<AgentConfig>> {
  return loadConfigIsolated<AgentConfig>(new URL('./config-worker.js', import.meta.url), file, async (f) =>
    (await import('./config.js')).loadAgentConfig(f),
  );
}
