/**
 * Compaction of the job store: every record rewritten as one create line of a new snapshot, and an empty
 * journal in place of the old one. Crash-safe by renames: a crash before the first leaves the old files,
 * between the two only replays the journal over a snapshot that already has it (replay is idempotent).
 * Built in chunks, yielding between them, so the agent serves requests while ended jobs are read back.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../core/fs-atomic.js';
import { storeLine } from './job-journal.js';
import type { JobRecord } from './job-record.js';

/** Snapshot lines built between two yields to the event loop. */
const CHUNK = 500;

export interface Compacted {
  /** The new, empty journal, open for appending. */
  readonly journal: FileHandle;
  /** Where each job's create line is in the new snapshot: [id, offset, length]. */
  readonly lines: readonly (readonly [string, number, number])[];
}

/**
 * Writes `dir`/snapshot.jsonl from the records `read` returns for `ids` (undefined: gone meanwhile, skipped)
 * and replaces `dir`/journal.jsonl with an empty file. On failure nothing of the old files has changed.
 */
export async function compactFiles(dir: string, ids: readonly string[], read: (id: string) => JobRecord | undefined): Promise<Compacted> {
  const tmp = join(dir, 'snapshot.new');
  let handle: FileHandle | null = null;
  try {
    handle = await open(tmp, 'w', 0o600);
    const lines: [string, number, number][] = [];
    let offset = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      let text = '';
      for (const id of ids.slice(i, i + CHUNK)) {
        const job = read(id);
        if (!job) continue;
        const line = storeLine({ t: 'create', job });
        const length = Buffer.byteLength(line);
        lines.push([id, offset, length]);
        offset += length;
        text += line;
      }
      await handle.writeFile(text);
      await new Promise((r) => setImmediate(r));
    }
    await handle.chmod(0o600);
    await handle.sync();
    await handle.close();
    handle = null;
    await rename(tmp, join(dir, 'snapshot.jsonl'));
    const fresh = join(dir, 'journal.new');
    const journal = await open(fresh, 'w', 0o600);
    await journal.sync();
    await rename(fresh, join(dir, 'journal.jsonl'));
    await fsyncDir(dir);
    return { journal, lines };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
