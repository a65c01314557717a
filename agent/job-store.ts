/**
 * Durable job records, in memory and on disk. Every change is an event: applied to the records here, and
 * appended to the journal (job-journal.ts), compacted into a snapshot now and then (job-compaction.ts).
 * `create` resolves only once the record is on disk, which is what lets the agent promise that nothing
 * accepted is ever dropped; later updates ride along with the next sync because the supervisor's own files
 * can rebuild them after a crash.
 *
 * Memory: a job that is queued or running is kept whole. Once it has ended and its create line is in a
 * file, only its summary stays in memory (ended-job.ts: state, times, exit, ~0.2 KiB instead of a few
 * KiB), with where its line is; `record()` reads the rest back from that line (one pread of the page
 * cache) and lays the summary over it. So the agent's memory stays flat however many jobs it keeps.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { agentError } from './errors.js';
import { EndedJob, type Location } from './ended-job.js';
import { IdempotencyIndex, idempotencyScope, type KnownKey } from './idempotency.js';
import { compactFiles } from './job-compaction.js';
import { Journal, readEvents, storeLine, type StoreEvent, type Tail } from './job-journal.js';
import { FINAL_STATES, MUTABLE_FIELDS, type JobRecord, type JobSummary } from './job-record.js';

export { STORE_FORMAT, checkStoreFormat } from './job-journal.js';

/** A change to a job: its summary as it is now, and the write of the change to the journal. */
export interface Updated {
  /** Undefined when the job is not (or no longer) in the store. */
  readonly summary: JobSummary | undefined;
  readonly written: Promise<void>;
}

export interface JobStoreOptions {
  /** How long an Idempotency-Key names its job (default 24 h); retention may remove the job sooner. */
  readonly idempotencyWindowMs?: number;
}

const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
/** The journal is compacted once it is this big, and holds over 2 KiB per job kept. */
const COMPACT_MIN_BYTES = 8 * 1024 * 1024;

const SNAPSHOT = 0;
const JOURNAL = 1;
type FileId = typeof SNAPSHOT | typeof JOURNAL;

export class JobStore {
  private readonly entries = new Map<string, JobSummary>();
  /** Create-line locations of jobs kept whole (queued, running, or not yet written). */
  private readonly located = new Map<string, Location>();
  private journal: Journal | null = null;
  /** Read-only descriptors for on-demand reads, by FileId; -1 when the file does not exist. */
  private readonly readFds: [number, number] = [-1, -1];
  private compacting = false;
  /** After a failed compaction, the next attempt waits until then (it is only an optimisation). */
  private compactNotBefore = 0;

  /** Idempotency keys of recent jobs, rebuilt from the records on open, so they survive restarts. */
  private readonly keys: IdempotencyIndex;

  private constructor(
    private readonly dir: string,
    options: JobStoreOptions,
  ) {
    this.keys = new IdempotencyIndex(options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS);
  }

  static async open(dir: string, options: JobStoreOptions = {}): Promise<JobStore> {
    const store = new JobStore(dir, options);
    let tail: Tail;
    try {
      tail = await store.load();
    } catch (err) {
      // Refused (corrupt, or a newer format): nothing was written yet, and nothing stays open.
      for (const file of [SNAPSHOT, JOURNAL] as const) store.swapReadFd(file, -1);
      throw err;
    }
    store.journal = await Journal.open(join(dir, 'journal.jsonl'), dir, tail, () => store.maybeCompact());
    store.readFds[JOURNAL] = openSync(join(dir, 'journal.jsonl'), 'r');
    return store;
  }

  /** Why the last journal write failed, until one succeeds again (GET /v1/status shows it). */
  get lastError(): { code: string; message: string; at: string } | null {
    return this.journal?.lastError ?? null;
  }

  /** The job an Idempotency-Key (in its scope, idempotency.ts) names, if created within the window. */
  idempotent(scope: string, now = Date.now()): KnownKey | undefined {
    return this.keys.lookup(scope, now);
  }

  /** Every job's summary (ended jobs are summaries only; use `record` for the whole). */
  get jobs(): ReadonlyMap<string, JobSummary> {
    return this.entries;
  }

  /**
   * The whole record: the one in memory for a job that has not ended, else read back from its create
   * line with the summary (every field that changed since) laid over it. Undefined for an unknown id.
   */
  record(id: string): JobRecord | undefined {
    const entry = this.entries.get(id);
    if (!(entry instanceof EndedJob)) return entry as JobRecord | undefined;
    const created = this.readCreateLine(id, entry) as unknown as Record<string, unknown>;
    // outputTruncated only when set: an ended job's record has no such key otherwise.
    for (const key of MUTABLE_FIELDS) if (key !== 'outputTruncated' || entry.outputTruncated) created[key] = entry[key];
    return created as unknown as JobRecord;
  }

  private readCreateLine(id: string, at: Location): JobRecord {
    const fd = this.readFds[at.file];
    const buf = Buffer.allocUnsafe(at.length);
    let event: StoreEvent | undefined;
    try {
      const n = readSync(fd, buf, 0, at.length, at.offset);
      event = JSON.parse(buf.toString('utf8', 0, n)) as StoreEvent;
    } catch {
      event = undefined;
    }
    if (event?.t !== 'create' || event.job.id !== id) {
      throw agentError('AGENT_STORE_FAILED', `cannot read the record of job ${id} back from the job store in ${this.dir}`);
    }
    return event.job;
  }

  /** Keeps an ended job as a summary once its create line is in a file. */
  private settle(id: string): void {
    const entry = this.entries.get(id);
    const at = this.located.get(id);
    if (!entry || entry instanceof EndedJob || !at || !FINAL_STATES.has(entry.state)) return;
    this.entries.set(id, new EndedJob(id, entry, at));
    this.located.delete(id);
  }

  private locate(id: string, at: Location): void {
    const entry = this.entries.get(id);
    if (entry instanceof EndedJob) {
      entry.file = at.file;
      entry.offset = at.offset;
      entry.length = at.length;
    } else if (entry) {
      this.located.set(id, at);
      this.settle(id);
    }
  }

  private apply(e: StoreEvent): void {
    if (e.t === 'create') {
      this.entries.set(e.job.id, e.job);
      this.located.delete(e.job.id);
      const key = e.job.idempotency;
      if (key) this.keys.remember(idempotencyScope(e.job.submittedBy, key.key), { id: e.job.id, fingerprint: key.fingerprint, at: Date.parse(e.job.createdAt) }, Date.now());
    } else if (e.t === 'update') {
      const job = this.entries.get(e.id);
      if (job instanceof EndedJob) {
        // Only the summary's fields can change; anything else in a patch is ignored.
        for (const key of MUTABLE_FIELDS) if (key in e.patch) (job as unknown as Record<string, unknown>)[key] = e.patch[key];
      } else if (job) {
        Object.assign(job, e.patch);
        this.settle(e.id);
      }
    } else {
      for (const id of e.ids) {
        this.entries.delete(id);
        this.located.delete(id);
        this.keys.forget(id);
      }
    }
  }

  /** Replays the snapshot, then the journal; returns how the journal ended. */
  private async load(): Promise<Tail> {
    let tail: Tail;
    for (const [file, name] of [[SNAPSHOT, 'snapshot.jsonl'], [JOURNAL, 'journal.jsonl']] as const) {
      let data: Buffer;
      try {
        data = await readFile(join(this.dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (file === SNAPSHOT) this.readFds[SNAPSHOT] = openSync(join(this.dir, name), 'r');
      const ended = readEvents(data, join(this.dir, name), (event, offset, length) => {
        this.apply(event);
        if (event.t === 'create') this.locate(event.job.id, { file, offset, length });
      });
      // A snapshot is only ever renamed into place whole: how it ends needs no repair.
      if (file === JOURNAL) tail = ended;
    }
    return tail;
  }

  /** Applies an event now and appends it; see Journal.append for when it resolves. */
  private append(e: StoreEvent, durable: boolean): Promise<void> {
    this.apply(e);
    const journal = this.journal;
    if (!journal) return Promise.reject(new Error('job store is closed'));
    const line = storeLine(e);
    const created = e.t === 'create' ? e.job.id : undefined;
    return journal.append(line, durable, created === undefined ? undefined : (offset) => this.locate(created, { file: JOURNAL, offset, length: Buffer.byteLength(line) }));
  }

  private maybeCompact(): void {
    const bytes = this.journal?.bytes ?? 0;
    if (bytes > COMPACT_MIN_BYTES && bytes > this.entries.size * 2048 && Date.now() >= this.compactNotBefore) {
      // A failed compaction loses nothing (the journal stays the truth); it is tried again a minute later.
      this.compact().catch(() => (this.compactNotBefore = Date.now() + 60_000));
    }
  }

  /** Resolves once the record is on disk: the promise behind "nothing accepted is ever dropped". */
  create(job: JobRecord): Promise<void> {
    return this.append({ t: 'create', job }, true);
  }

  /**
   * A state change: applied at once (the summary returned is the job as it is now), written at once and
   * fsynced lazily (the supervisor's files can rebuild it).
   */
  update(id: string, patch: Partial<JobRecord>): Updated {
    const written = this.append({ t: 'update', id, patch }, false);
    return { summary: this.entries.get(id), written };
  }

  /** The durable mark that a job's process is about to start (job-record.ts, `dispatch`). */
  markDispatched(id: string, dispatch: NonNullable<JobRecord['dispatch']>): Promise<void> {
    return this.append({ t: 'update', id, patch: { dispatch } }, true);
  }

  remove(ids: string[]): Promise<void> {
    return ids.length === 0 ? Promise.resolve() : this.append({ t: 'remove', ids }, true);
  }

  /** Forgets a job whose create failed (it was never accepted). */
  discard(id: string): void {
    this.entries.delete(id);
    this.located.delete(id);
    this.keys.forget(id);
  }

  /**
   * Rewrites all records as a snapshot and starts an empty journal (job-compaction.ts). Journal writes
   * pause meanwhile; events appended during it are already in memory (so in the snapshot) and go to the
   * new journal too, which is harmless because replay is idempotent.
   */
  async compact(): Promise<void> {
    const journal = this.journal;
    if (this.compacting || !journal) return;
    this.compacting = true;
    let fresh: FileHandle | undefined;
    try {
      await journal.pause();
      // Gone meanwhile (retention): its remove event is pending for the new journal anyway.
      const done = await compactFiles(this.dir, [...this.entries.keys()], (id) => (this.entries.has(id) ? this.record(id) : undefined));
      fresh = done.journal;
      // From here on, synchronously: locations and descriptors switch to the new files together.
      this.swapReadFd(SNAPSHOT, openSync(join(this.dir, 'snapshot.jsonl'), 'r'));
      this.swapReadFd(JOURNAL, openSync(join(this.dir, 'journal.jsonl'), 'r'));
      for (const [id, offset, length] of done.lines) this.locate(id, { file: SNAPSHOT, offset, length });
    } finally {
      this.compacting = false;
      const old = journal.resume(fresh);
      await old?.close();
    }
  }

  private swapReadFd(file: FileId, fd: number): void {
    const old = this.readFds[file];
    this.readFds[file] = fd;
    if (old >= 0) closeSync(old);
  }

  async close(): Promise<void> {
    await this.journal?.close();
    this.journal = null;
    for (const file of [SNAPSHOT, JOURNAL] as const) this.swapReadFd(file, -1);
  }

  jobDir(id: string): string {
    return join(this.dir, 'jobs', id);
  }

  async removeDirs(ids: string[]): Promise<void> {
    for (const id of ids) await rm(this.jobDir(id), { recursive: true, force: true });
  }
}
