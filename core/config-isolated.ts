/**
 * Reading a configuration file in a short-lived child process. zod (the schemas) and yaml are needed only
 * while a config file is read — at start and on reload — yet once imported they stay resident in a
 * daemon for its lifetime (~20 MiB together). A child process takes them away when it exits; a worker
 * thread would too, but leaves ~8 MiB behind (its isolate's allocations and the code it touched).
 * Same result, same errors (rebuilt from their code); if the child cannot run at all (e.g. running from
 * sources, where the compiled script does not exist), the file is read in this process instead.
 *
 * The child script calls `serveConfigChild(load)`; the daemon calls `loadConfigIsolated(url, file, load)`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deepFreeze } from './deep-freeze.js';
import { OutpostError, registeredErrors } from './errors.js';

interface Reply {
  config?: unknown;
  error?: { code: string | undefined; message: string; details: Readonly<Record<string, unknown>> | undefined };
}

function rebuild(error: NonNullable<Reply['error']>): Error {
  const known = error.code === undefined ? undefined : registeredErrors().get(error.code);
  if (!known) return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
  return new OutpostError(error.code!, error.message, known.spec, error.details ? { details: error.details } : {});
}

function parseReply(stdout: string): Reply | undefined {
  try {
    const reply = JSON.parse(stdout) as Reply;
    return reply && typeof reply === 'object' ? reply : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads `file` by running the script at `scriptUrl` (which calls serveConfigChild) with this Node binary;
 * `inThisThread` is the fallback. The result is deep-frozen.
 */
export function loadConfigIsolated<T>(scriptUrl: URL, file: string, inThisThread: (file: string) => Promise<Readonly<T>>): Promise<Readonly<T>> {
  const script = fileURLToPath(scriptUrl);
  if (!existsSync(script)) return inThisThread(file);
  return new Promise<Reply | undefined>((resolve) => {
    execFile(process.execPath, [script, file], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (_err, stdout) => resolve(parseReply(stdout)));
  }).then((reply) => {
    if (reply?.config) return deepFreeze(reply.config as T);
    if (reply?.error) throw rebuild(reply.error);
    return inThisThread(file);
  });
}

/** The child's side: reads the file named by argv[2] with `load` and writes the result or the error as JSON. */
export async function serveConfigChild(load: (file: string) => Promise<unknown>): Promise<void> {
  let reply: Reply;
  try {
    reply = { config: await load(process.argv[2] ?? '') };
  } catch (err) {
    const e = err as Error & { code?: unknown; details?: unknown };
    reply = { error: { code: typeof e.code === 'string' ? e.code : undefined, message: e.message, details: e.details as Readonly<Record<string, unknown>> | undefined } };
  }
  process.stdout.write(JSON.stringify(reply));
}
