/** Run as a short-lived child process (see config-isolated.ts): reads and validates gateway.yaml. */
import { serveConfigChild } from '../core/config-isolated.js';
import { loadGatewayConfig } from './config.js';

await serveConfigChild(loadGatewayConfig);
