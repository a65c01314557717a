/** Where the credential store lives; its own module so the running agent need not load the config schema. */
import type { AgentConfig } from './config.js';

export function credentialsPath(config: Pick<AgentConfig, 'credentialsFile' | 'dataDir'>): string {
  return config.credentialsFile ?? `${config.dataDir}/credentials.json`;
}
