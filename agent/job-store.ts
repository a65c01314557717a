/**
 * Durable job records: an append-only journal of JSON lines with group commit (many records, one
 * fdatasync), compacted into a snapshot now and then. `create` resolves only once the record is on disk,
 * which is what lets the agent promise that nothing accepted is ever dropped; later updates ride along
 * with the next sync because the supervisor's own files can rebuild them after a crash.
 */
import { open, readFile, rm, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../core/fs-atomic.js';
import { agentError } from './errors.js';
import type { JobRecord } from './job-record.js';

type Event =
  | { t: 'create'; job: JobRecord }
  | { t: 'update'; id: string; patch: Partial<JobRecord> }
  | { t: 'remove'; ids: string[] };

const COMPACT_MIN_BYTES = 8 * 1024 * 1024;

export class JobStore {
  readonly jobs = new Map<string, JobRecord>();
  private journal: FileHandle | null = null;
  private journalBytes = 0;
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (e: Error) => void; durable: boolean }[] = [];
  private unsynced = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private compacting = false;

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<JobStore> {
    const store = new JobStore(dir);
    await store.load();
    store.journal = await open(join(dir, 'journal.jsonl'), 'a', 0o600);
    store.journalBytes = (await store.journal.stat()).size;
    return store;
  }

  private apply(e: Event): void {
    if (e.t === 'create') this.jobs.set(e.job.id, e.job);
    else if (e.t === 'update') {
      const job = this.jobs.get(e.id);
      if (job) Object.assign(job, e.patch);
    } else for (const id of e.ids) this.jobs.delete(id);
  }

  private async load(): Promise<void> {
    for (const name of ['snapshot.jsonl', 'journal.jsonl']) {
      let text: string;
      try {
        text = await readFile(join(this.dir, name), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const lines = text.split('\n');
      lines.forEach((line, i) => {
        if (line === '') return;
        try {
          this.apply(JSON.parse(line) as Event);
        } catch (err) {
          // Only the very last line can be torn (a crash mid-append); anything else is corruption.
          if (i < lines.length - 2) throw new Error(`${name} line ${i + 1} is corrupt: ${(err as Error).message}`);
        }
      });
    }
  }

  /**
   * Appends an event. `durable` events resolve once fsynced; the others are written at once (so they
   * survive a crash of the agent, the page cache being the kernel's) and fsynced lazily, piggybacking on
   * the next durable batch or a short timer, so they never sit on the critical path of a submit.
   */
  private append(e: Event, durable: boolean): Promise<void> {
    this.apply(e);
    this.pending.push(`${JSON.stringify(e)}\n`);
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, durable }));
    void this.kick();
    return p;
  }

  private async kick(): Promise<void> {
    if (this.flushing || this.compacting) return;
    while (this.pending.length > 0) {
      const lines = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      const sync = waiters.some((w) => w.durable);
      this.flushing = (async () => {
        const journal = this.journal;
        if (!journal) throw new Error('job store is closed');
        const data = Buffer.from(lines.join(''));
        await journal.write(data);
        this.journalBytes += data.length;
        if (sync) {
          this.unsynced = false;
          await journal.datasync();
        } else {
          this.unsynced = true;
        }
      })();
      try {
        await this.flushing;
        for (const w of waiters) w.resolve();
      } catch (err) {
        const e = agentError('AGENT_STORE_FAILED', `cannot write the job journal: ${(err as Error).message}`, { cause: err });
        for (const w of waiters) w.reject(e);
      } finally {
        this.flushing = null;
      }
    }
    if (this.unsynced && !this.syncTimer) {
      this.syncTimer = setTimeout(() => {
        this.syncTimer = null;
        if (this.unsynced && !this.flushing && !this.compacting && this.journal) {
          this.unsynced = false;
          this.flushing = this.journal.datasync().finally(() => (this.flushing = null));
          void this.flushing.then(() => this.kick(), () => undefined);
        }
      }, 200);
      this.syncTimer.unref();
    }
    if (this.journalBytes > COMPACT_MIN_BYTES && this.journalBytes > this.jobs.size * 2048) void this.compact();
  }

  /** Resolves once the record is on disk: the promise behind "nothing accepted is ever dropped". */
  create(job: JobRecord): Promise<void> {
    return this.append({ t: 'create', job }, true);
  }

  /** State changes: written at once, fsynced lazily (the supervisor's files can rebuild them). */
  update(id: string, patch: Partial<JobRecord>): Promise<void> {
    return this.append({ t: 'update', id, patch }, false);
  }

  remove(ids: string[]): Promise<void> {
    return ids.length === 0 ? Promise.resolve() : this.append({ t: 'remove', ids }, true);
  }

  /** Rewrites all records as a snapshot and starts an empty journal. Flushes pause meanwhile; events
   * appended during it are already in `jobs` (so in the snapshot) and go to the new journal too, which is
   * harmless because replay is idempotent. A crash between the two renames likewise only replays twice. */
  async compact(): Promise<void> {
    if (this.compacting) return;
    this.compacting = true;
    try {
      while (this.flushing) await this.flushing.catch(() => undefined);
      const lines = [...this.jobs.values()].map((job) => JSON.stringify({ t: 'create', job })).join('\n');
      await writeFileAtomic(join(this.dir, 'snapshot.jsonl'), lines === '' ? '' : `${lines}\n`);
      const fresh = join(this.dir, 'journal.new');
      const handle = await open(fresh, 'w', 0o600);
      await handle.sync();
      await rename(fresh, join(this.dir, 'journal.jsonl'));
      await fsyncDir(this.dir);
      const old = this.journal;
      this.journal = handle;
      this.journalBytes = 0;
      await old?.close();
    } finally {
      this.compacting = false;
      void this.kick();
    }
  }

  async close(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      if (this.flushing) await this.flushing.catch(() => undefined);
      else await this.kick();
    }
    if (this.syncTimer) clearTimeout(this.syncTimer);
    if (this.unsynced) await this.journal?.datasync();
    await this.journal?.close();
    this.journal = null;
  }

  jobDir(id: string): string {
    return join(this.dir, 'jobs', id);
  }

  async removeDirs(ids: string[]): Promise<void> {
    for (const id of ids) await rm(this.jobDir(id), { recursive: true, force: true });
  }
}
