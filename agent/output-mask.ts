/**
 * Masking a job's secretEnv values in its output as it is served (pure). Jobs write their output files
 * themselves, so masking happens when the file is read: every occurrence of a secret is replaced by as
 * many `*` bytes, which keeps offsets valid for clients that resume from a byte count.
 *
 * Reads come in windows; a window is widened by `margin` (longest secret − 1) bytes on both sides, so an
 * occurrence that straddles a window edge is still seen whole, and the last `margin` bytes of a file that
 * may still grow are held back (they could be the start of a secret not yet fully written). The result is
 * the same as masking the whole file at once. What still leaks: each secret's length, and any value the
 * job transforms before printing it (encoded, reversed, split).
 */

export interface OutputMask {
  readonly secrets: readonly Buffer[];
  /** Bytes of context needed on each side of a window: the longest secret's length minus one. */
  readonly margin: number;
}

const STAR = 0x2a;

/** The mask for these values, or null when there is nothing to mask. */
export function createMask(values: readonly string[]): OutputMask | null {
  const secrets = [...new Set(values.filter((v) => v.length > 0))].map((v) => Buffer.from(v, 'utf8'));
  if (secrets.length === 0) return null;
  return { secrets, margin: Math.max(...secrets.map((s) => s.length)) - 1 };
}

/** A copy of `buf` with every occurrence of every secret (overlapping ones too) replaced by `*` bytes. */
export function maskSecrets(buf: Buffer, mask: OutputMask): Buffer {
  const out = Buffer.from(buf);
  for (const secret of mask.secrets) {
    for (let at = buf.indexOf(secret); at >= 0; at = buf.indexOf(secret, at + 1)) out.fill(STAR, at, at + secret.length);
  }
  return out;
}

/** Which bytes to read to emit up to `chunk` bytes from `position`. */
export function windowFor(position: number, chunk: number, mask: OutputMask): { start: number; length: number } {
  const start = Math.max(0, position - mask.margin);
  return { start, length: position - start + chunk + mask.margin };
}

/**
 * The masked bytes to emit from a window read at `start` (see windowFor): everything from `position` that
 * has its full right context. `complete`: the file will not grow, so its last bytes need no context.
 */
export function emitFromWindow(window: Buffer, start: number, position: number, requested: number, mask: OutputMask, complete: boolean): Buffer {
  const eof = window.length < requested;
  const end = eof && complete ? window.length : Math.max(position - start, window.length - mask.margin);
  if (end <= position - start) return Buffer.alloc(0);
  return maskSecrets(window, mask).subarray(position - start, end);
}
