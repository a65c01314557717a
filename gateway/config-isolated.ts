/**
 * `loadGatewayConfig` in a short-lived worker thread. zod (the schema) and yaml are needed only while a
 * config file is read — at start and on reload — yet once imported they stay resident: ~9 MB of an idle
 * gateway's memory. A worker's heap, modules included, is released when it exits. Same result, same
 * errors (rebuilt from their code); if the worker cannot run at all, the file is read in this thread.
 */
import { Worker } from 'node:worker_threads';
import { deepFreeze } from '../core/deep-freeze.js';
import { OutpostError, registeredErrors } from '../core/errors.js';
import type { GatewayConfig } from './config.js';

interface Reply {
  config?: GatewayConfig;
  error?: { code: string | undefined; message: string; details: Readonly<Record<string, unknown>> | undefined };
}

function rebuild(error: NonNullable<Reply['error']>): Error {
  const known = error.code === undefined ? undefined : registeredErrors().get(error.code);
  if (!known) return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
  return new OutpostError(error.code!, error.message, known.spec, error.details ? { details: error.details } : {});
}

async function inThisThread(file: string): Promise<Readonly<GatewayConfig>> {
  return (await import('./config.js')).loadGatewayConfig(file);
}

export function loadGatewayConfigIsolated(file: string): Promise<Readonly<GatewayConfig>> {
  return new Promise<Reply | undefined>((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./config-worker.js', import.meta.url), { workerData: file });
    } catch {
      resolve(undefined);
      return;
    }
    worker.once('message', (reply: Reply) => resolve(reply));
    // No reply (e.g. running from sources, where config-worker.js does not exist): read it here instead.
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  }).then((reply) => {
    if (reply?.config) return deepFreeze(reply.config);
    if (reply?.error) throw rebuild(reply.error);
    return inThisThread(file);
  });
}
