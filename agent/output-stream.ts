/**
 * Serving a job's output file from an offset, and following it while the job runs. The file only ever
 * grows (the supervisor appends), so following is reading from where we were until the job has ended and
 * the last bytes are sent.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { emitFromWindow, windowFor, type OutputMask } from './output-mask.js';

const CHUNK = 64 * 1024;

export interface FollowSource {
  readonly path: string;
  /** True once the job has ended (its output is then complete). */
  ended(): boolean;
  /** The job's secretEnv values to mask (output-mask.ts); null when it has none. */
  readonly mask?: OutputMask | null;
}

/**
 * Up to `chunk` bytes from `position`, secrets masked; `complete` when the file will not grow any more.
 * Empty at the end of the file (or when only a possible secret prefix is left of a growing file).
 */
export async function readOutput(handle: FileHandle, position: number, chunk: number, mask: OutputMask | null | undefined, complete: boolean): Promise<Buffer> {
  if (!mask) {
    const buf = Buffer.allocUnsafe(chunk);
    const { bytesRead } = await handle.read(buf, 0, chunk, position);
    return buf.subarray(0, bytesRead);
  }
  const { start, length } = windowFor(position, chunk, mask);
  const window = Buffer.allocUnsafe(length);
  const { bytesRead } = await handle.read(window, 0, length, start);
  return emitFromWindow(window.subarray(0, bytesRead), start, position, length, mask, complete);
}

/** Writes bytes from `offset` to the end; with `follow`, keeps going until the job ends. Returns bytes sent. */
export async function streamOutput(res: ServerResponse, src: FollowSource, offset: number, follow: boolean, pollMs = 100): Promise<number> {
  let position = offset;
  let closed = false;
  res.on('close', () => (closed = true));
  let handle = await open(src.path, 'r').catch(() => null);
  try {
    for (;;) {
      const wasEnded = src.ended();
      if (!handle) handle = await open(src.path, 'r').catch(() => null);
      if (handle) {
        for (;;) {
          const bytes = await readOutput(handle, position, CHUNK, src.mask, wasEnded);
          if (bytes.length === 0 || closed) break;
          position += bytes.length;
          if (!res.write(bytes)) await new Promise((r) => res.once('drain', r));
        }
      }
      // Read once more after seeing the end, so bytes written just before it are not missed.
      if (!follow || closed || wasEnded) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await handle?.close();
  }
  return position - offset;
}
