/**
 * Durable job records: an append-only journal of JSON lines with group commit (many records, one
 * fdatasync), compacted into a snapshot now and then. `create` resolves only once the record is on disk,
 * which is what lets the agent promise that nothing accepted is ever dropped; later updates ride along
 * with the next sync because the supervisor's own files can rebuild them after a crash.
 *
 * Memory: a job that is queued or running is kept whole. Once it has ended and its create line is in a
 * file, only its summary stays in memory (ended-job.ts: state, times, exit, ~0.2 KiB instead of a few
 * KiB), with where its line is; `record()` reads the rest back from that line (one pread of the page
 * cache) and lays the summary over it. So the agent's memory stays flat however many jobs it keeps.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open, readFile, rm, rename, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../core/fs-atomic.js';
import { agentError } from './errors.js';
import { EndedJob, type Location } from './ended-job.js';
import { IdempotencyIndex, idempotencyScope, type KnownKey } from './idempotency.js';
import { FINAL_STATES, MUTABLE_FIELDS, type JobRecord, type JobSummary } from './job-record.js';

/**
 * The format of journal and snapshot lines. Every line written carries it (`v`, first key); a line without
 * one is from before it was recorded and reads as 1. Raise it only for a change an older agent would
 * misread: an agent refuses to start on a line newer than it knows (AGENT_JOURNAL_TOO_NEW), touching nothing.
 */
export const STORE_FORMAT = 1;

type Event = { v?: number } & (
  | { t: 'create'; job: JobRecord }
  | { t: 'update'; id: string; patch: Partial<JobRecord> }
  | { t: 'remove'; ids: string[] });

/** One line of the journal or snapshot, with the format version first. */
function toLine(e: Event): string {
  return `${JSON.stringify({ v: STORE_FORMAT, ...e })}\n`;
}

/** The format of a parsed line (absent: 1), refusing one this agent does not know. */
export function checkStoreFormat(event: { v?: unknown }, where: string, known = STORE_FORMAT): number {
  const v = 'v' in event ? event.v : 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${where} is corrupt: format version ${JSON.stringify(v)}`);
  if (v > known) {
    throw agentError('AGENT_JOURNAL_TOO_NEW', `${where} has format version ${v}, written by a newer agent; this agent reads format ${known} and older. Nothing was changed: run the newer agent release, or move the dataDir aside to start with an empty job history`, {
      details: { format: v, known },
    });
  }
  return v;
}

export interface JobStoreOptions {
  /** How long an Idempotency-Key names its job (default 24 h); retention may remove the job sooner. */
  readonly idempotencyWindowMs?: number;
}

const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
const COMPACT_MIN_BYTES = 8 * 1024 * 1024;
/** Snapshot lines built between two yields to the event loop while compacting. */
const COMPACT_CHUNK = 500;

const SNAPSHOT = 0;
const JOURNAL = 1;
type FileId = typeof SNAPSHOT | typeof JOURNAL;

interface Pending {
  text: string;
  /** Set for a create line: its location becomes known once written. */
  createId?: string;
}

export class JobStore {
  private readonly entries = new Map<string, JobSummary>();
  /** Create-line locations of jobs kept whole (queued, running, or not yet written). */
  private readonly located = new Map<string, Location>();
  private journal: FileHandle | null = null;
  private journalBytes = 0;
  /**
   * How the journal ended when loaded: a torn last line (a crash mid-append, never acknowledged) is cut
   * off, and a complete last event that only lacks its newline gets one, so the next append starts on a
   * line of its own instead of merging with the fragment into a line the next start would call corrupt.
   */
  private journalTail: { cutAt: number } | { newline: true } | undefined;
  /** Read-only descriptors for on-demand reads, by FileId; -1 when the file does not exist. */
  private readonly readFds: [number, number] = [-1, -1];
  private pending: Pending[] = [];
  private waiters: { resolve: () => void; reject: (e: Error) => void; durable: boolean }[] = [];
  private unsynced = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private compacting = false;
  /** After a failed compaction, the next attempt waits until then (it is only an optimisation). */
  private compactNotBefore = 0;
  /**
   * Where the journal must be cut back to before anything more is appended: set when a failed batch left
   * part of itself in the file and cutting it off failed too. Appending after such a fragment would make a
   * corrupt line in the middle of the journal, which the next start refuses; so nothing is.
   */
  private tornAt: number | null = null;
  private failure: { code: string; message: string; at: string } | null = null;

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
    try {
      await store.load();
    } catch (err) {
      // Refused (corrupt, or a newer format): nothing was written yet, and nothing stays open.
      for (const file of [SNAPSHOT, JOURNAL] as const) store.swapReadFd(file, -1);
      throw err;
    }
    const tail = store.journalTail;
    if (tail && 'cutAt' in tail) await truncate(join(dir, 'journal.jsonl'), tail.cutAt);
    store.journal = await open(join(dir, 'journal.jsonl'), 'a', 0o600);
    if (tail && 'newline' in tail) {
      await store.journal.write('\n');
      await store.journal.sync();
    }
    store.journalBytes = (await store.journal.stat()).size;
    store.readFds[JOURNAL] = openSync(join(dir, 'journal.jsonl'), 'r');
    return store;
  }

  /** Why the last journal write failed, until one succeeds again (GET /v1/status shows it). */
  get lastError(): { code: string; message: string; at: string } | null {
    return this.failure;
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
    let event: Event | undefined;
    try {
      const n = readSync(fd, buf, 0, at.length, at.offset);
      event = JSON.parse(buf.toString('utf8', 0, n)) as Event;
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

  private apply(e: Event): void {
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

  private async load(): Promise<void> {
    for (const [file, name] of [[SNAPSHOT, 'snapshot.jsonl'], [JOURNAL, 'journal.jsonl']] as const) {
      let data: Buffer;
      try {
        data = await readFile(join(this.dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (file === SNAPSHOT) this.readFds[SNAPSHOT] = openSync(join(this.dir, name), 'r');
      let start = 0;
      let line = 0;
      while (start < data.length) {
        let end = data.indexOf(10, start);
        if (end < 0) end = data.length;
        const last = end + 1 >= data.length;
        line++;
        if (end > start) {
          let event: Event;
          try {
            event = JSON.parse(data.toString('utf8', start, end)) as Event;
          } catch (err) {
            // Only the very last line can be torn (a crash mid-append); anything else is corruption.
            if (!last) throw new Error(`${name} line ${line} is corrupt: ${(err as Error).message}`);
            if (file === JOURNAL) this.journalTail = { cutAt: start };
            break;
          }
          checkStoreFormat(event, `${join(this.dir, name)} line ${line}`);
          if (file === JOURNAL && end === data.length) this.journalTail = { newline: true };
          this.apply(event);
          if (event.t === 'create') this.locate(event.job.id, { file, offset: start, length: end + 1 - start });
        }
        start = end + 1;
      }
    }
  }

  /**
   * Appends an event. `durable` events resolve once fsynced; the others are written at once (so they
   * survive a crash of the agent, the page cache being the kernel's) and fsynced lazily, piggybacking on
   * the next durable batch or a short timer, so they never sit on the critical path of a submit.
   */
  private append(e: Event, durable: boolean): Promise<void> {
    this.apply(e);
    this.pending.push(e.t === 'create' ? { text: toLine(e), createId: e.job.id } : { text: toLine(e) });
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
        const data = Buffer.from(lines.map((l) => l.text).join(''));
        if (this.tornAt !== null) {
          await journal.truncate(this.tornAt);
          this.journalBytes = this.tornAt;
          this.tornAt = null;
        }
        const base = this.journalBytes;
        try {
          // A short write is followed by another for the rest, so a full disk shows as ENOSPC, not as a count.
          for (let done = 0; done < data.length; ) {
            const { bytesWritten } = await journal.write(data, done, data.length - done);
            if (bytesWritten === 0) throw new Error(`short write (${done} of ${data.length} bytes)`);
            done += bytesWritten;
          }
          if (sync) await journal.datasync();
        } catch (err) {
          // The batch is all or nothing (every waiter of it is refused): whatever part of it reached the
          // file is cut off, so the next append starts on a line of its own. Cutting frees space, so it
          // works on a full disk; if it does not, nothing is appended until it does (tornAt).
          await journal.truncate(base).then(
            () => (this.journalBytes = base),
            async () => {
              this.tornAt = base;
              this.journalBytes = (await journal.stat().catch(() => null))?.size ?? this.journalBytes;
            },
          );
          throw err;
        }
        this.journalBytes += data.length;
        let offset = base;
        for (const l of lines) {
          const length = Buffer.byteLength(l.text);
          if (l.createId !== undefined) this.locate(l.createId, { file: JOURNAL, offset, length });
          offset += length;
        }
        this.unsynced = !sync;
      })();
      try {
        await this.flushing;
        this.failure = null;
        for (const w of waiters) w.resolve();
      } catch (err) {
        const errno = (err as NodeJS.ErrnoException).code;
        const full = errno === 'ENOSPC' || errno === 'EDQUOT';
        const e = full
          ? agentError('AGENT_STORE_FULL', `cannot write the job journal in ${this.dir}: the filesystem is full (${errno}); nothing of this request was kept`, { cause: err })
          : agentError('AGENT_STORE_FAILED', `cannot write the job journal: ${(err as Error).message}`, { cause: err });
        this.failure = { code: e.code, message: e.message, at: new Date().toISOString() };
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
    if (this.journalBytes > COMPACT_MIN_BYTES && this.journalBytes > this.entries.size * 2048 && Date.now() >= this.compactNotBefore) {
      // A failed compaction loses nothing (the journal stays the truth); it is tried again a minute later.
      this.compact().catch(() => (this.compactNotBefore = Date.now() + 60_000));
    }
  }

  /** Resolves once the record is on disk: the promise behind "nothing accepted is ever dropped". */
  create(job: JobRecord): Promise<void> {
    return this.append({ t: 'create', job }, true);
  }

  /** State changes: written at once, fsynced lazily (the supervisor's files can rebuild them). */
  update(id: string, patch: Partial<JobRecord>): Promise<void> {
    return this.append({ t: 'update', id, patch }, false);
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
   * Rewrites all records as a snapshot and starts an empty journal. Flushes pause meanwhile; events
   * appended during it are already in memory (so in the snapshot) and go to the new journal too, which is
   * harmless because replay is idempotent. A crash between the two renames likewise only replays twice.
   * Built in chunks, yielding between them, so requests are served while ended jobs are read back.
   */
  async compact(): Promise<void> {
    if (this.compacting) return;
    this.compacting = true;
    const path = join(this.dir, 'snapshot.jsonl');
    const tmp = join(this.dir, 'snapshot.new');
    let handle: FileHandle | null = null;
    try {
      while (this.flushing) await this.flushing.catch(() => undefined);
      handle = await open(tmp, 'w', 0o600);
      const written: [string, number, number][] = [];
      let offset = 0;
      const ids = [...this.entries.keys()];
      for (let i = 0; i < ids.length; i += COMPACT_CHUNK) {
        let text = '';
        for (const id of ids.slice(i, i + COMPACT_CHUNK)) {
          // Gone meanwhile (retention): its remove event is pending for the new journal anyway.
          const job = this.entries.has(id) ? this.record(id) : undefined;
          if (!job) continue;
          const created = toLine({ t: 'create', job });
          const length = Buffer.byteLength(created);
          written.push([id, offset, length]);
          offset += length;
          text += created;
        }
        await handle.writeFile(text);
        await new Promise((r) => setImmediate(r));
      }
      await handle.chmod(0o600);
      await handle.sync();
      await handle.close();
      handle = null;
      await rename(tmp, path);
      const fresh = join(this.dir, 'journal.new');
      const journal = await open(fresh, 'w', 0o600);
      await journal.sync();
      await rename(fresh, join(this.dir, 'journal.jsonl'));
      await fsyncDir(this.dir);
      // From here on, synchronously: locations and descriptors switch to the new files together.
      const old = this.journal;
      this.journal = journal;
      this.journalBytes = 0;
      this.swapReadFd(SNAPSHOT, openSync(path, 'r'));
      this.swapReadFd(JOURNAL, openSync(join(this.dir, 'journal.jsonl'), 'r'));
      for (const [id, off, length] of written) this.locate(id, { file: SNAPSHOT, offset: off, length });
      await old?.close();
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    } finally {
      this.compacting = false;
      void this.kick();
    }
  }

  private swapReadFd(file: FileId, fd: number): void {
    const old = this.readFds[file];
    this.readFds[file] = fd;
    if (old >= 0) closeSync(old);
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
    for (const file of [SNAPSHOT, JOURNAL] as const) this.swapReadFd(file, -1);
  }

  jobDir(id: string): string {
    return join(this.dir, 'jobs', id);
  }

  async removeDirs(ids: string[]): Promise<void> {
    for (const id of ids) await rm(this.jobDir(id), { recursive: true, force: true });
  }
}
