/**
 * Runs in a worker thread (see config-isolated.ts): reads and validates gateway.yaml and posts the result
 * or the error's code, message and details back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadGatewayConfig } from './config.js';

try {
  const config = await loadGatewayConfig(workerData as string);
  parentPort!.postMessage({ config });
} catch (err) {
  const e = err as Error & { code?: unknown; details?: unknown };
  parentPort!.postMessage({ error: { code: typeof e.code === 'string' ? e.code : undefined, message: e.message, details: e.details } });
}
