/**
 * `--output-dir DIR`: each host's output in its own file, `DIR/<host>`, as `pssh --outdir` and Ansible's
 * `--tree` do, so a run over thousands of hosts leaves the terminal to the summary and `grep -l` finds the
 * hosts that printed something. Files are opened when a host starts printing (at most --concurrency are
 * open at once) and every host gets one, empty when it printed nothing. Mode 0600: job output may be
 * sensitive; the directory is created 0700 when missing.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile, access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { masterError } from './errors.js';

/** A file name for a host: target names are already restricted, this keeps any other character out. */
export function hostFileName(host: string): string {
  const safe = host.replace(/[^A-Za-z0-9._:@-]/g, '_');
  return safe === '' || safe === '.' || safe === '..' ? `_${safe}` : safe;
}

export class OutputDir {
  readonly dir: string;
  readonly #open = new Map<string, WriteStream>();
  readonly #pending = new Set<Promise<void>>();
  #error: Error | null = null;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates (or checks) the directory before the run, so a bad path fails before any job is submitted. */
  static async create(dir: string): Promise<OutputDir> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.W_OK);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw masterError('MASTER_OUTPUT_DIR_UNWRITABLE', `--output-dir ${dir}: ${e.code ?? e.message}`, { cause: err });
    }
    return new OutputDir(dir);
  }

  pathOf(host: string): string {
    return join(this.dir, hostFileName(host));
  }

  write(host: string, data: Buffer): void {
    let stream = this.#open.get(host);
    if (!stream) {
      stream = createWriteStream(this.pathOf(host), { flags: 'w', mode: 0o600 });
      stream.on('error', (err) => this.#fail(host, err));
      this.#open.set(host, stream);
    }
    stream.write(data);
  }

  /** The host is done: close its file, or create an empty one when it printed nothing. */
  close(host: string): void {
    const stream = this.#open.get(host);
    this.#open.delete(host);
    const done = stream
      ? new Promise<void>((resolve) => {
        stream.end(() => resolve());
        stream.once('error', () => resolve());
      })
      : writeFile(this.pathOf(host), '', { mode: 0o600 }).catch((err: unknown) => this.#fail(host, err));
    this.#pending.add(done);
    done.finally(() => this.#pending.delete(done)).catch(() => undefined);
  }

  #fail(host: string, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    this.#error ??= masterError('MASTER_OUTPUT_DIR_UNWRITABLE', `--output-dir: cannot write ${this.pathOf(host)} (${e.code ?? e.message})`, { cause: err });
  }

  /** Waits for every file to be written; the first write error, if any. */
  async flush(): Promise<Error | null> {
    for (const host of [...this.#open.keys()]) this.close(host);
    await Promise.all([...this.#pending]);
    return this.#error;
  }
}
