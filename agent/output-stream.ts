/**
 * Serving a job's output file from an offset, and following it while the job runs. The file only ever
 * grows (the supervisor appends), so following is reading from where we were until the job has ended and
 * the last bytes are sent.
 */
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

const CHUNK = 64 * 1024;

export interface FollowSource {
  readonly path: string;
  /** True once the job has ended (its output is then complete). */
  ended(): boolean;
}

/** Writes bytes from `offset` to the end; with `follow`, keeps going until the job ends. Returns bytes sent. */
export async function streamOutput(res: ServerResponse, src: FollowSource, offset: number, follow: boolean, pollMs = 100): Promise<number> {
  let position = offset;
  let closed = false;
  res.on('close', () => (closed = true));
  let handle = await open(src.path, 'r').catch(() => null);
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    for (;;) {
      const wasEnded = src.ended();
      if (!handle) handle = await open(src.path, 'r').catch(() => null);
      if (handle) {
        for (;;) {
          const { bytesRead } = await handle.read(buf, 0, CHUNK, position);
          if (bytesRead === 0 || closed) break;
          position += bytesRead;
          if (!res.write(Buffer.from(buf.subarray(0, bytesRead)))) await new Promise((r) => res.once('drain', r));
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
