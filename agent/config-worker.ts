/** Run as a short-lived child process (see config-isolated.ts): reads and validates agent.yaml. */
import { serveConfigChild } from '../core/config-isolated.js';
import { loadAgentConfig } from './config.js';

await serveConfigChild(loadAgentConfig);
