/**
 * The job store's files, line by line: the format of journal and snapshot lines, reading them back, and
 * the journal writer — an append-only file of JSON lines with group commit (many lines, one fdatasync).
 * Lines marked durable resolve once fsynced; the others are written at once (so they survive a crash of
 * the agent, the page cache being the kernel's) and fsynced lazily, piggybacking on the next durable batch
 * or a short timer, so they never sit on the critical path of a submit. The store (job-store.ts) decides
 * what the lines say; compaction (job-compaction.ts) replaces the file.
 */
import { truncate, open, type FileHandle } from 'node:fs/promises';
import { agentError } from './errors.js';
import type { JobRecord } from './job-record.js';

/**
 * The format of journal and snapshot lines. Every line written carries it (`v`, first key); a line without
 * one is from before it was recorded and reads as 1. Raise it only for a change an older agent would
 * misread: an agent refuses to start on a line newer than it knows (AGENT_JOURNAL_TOO_NEW), touching nothing.
 */
export const STORE_FORMAT = 1;

export type StoreEvent = { v?: number } & (
  | { t: 'create'; job: JobRecord }
  | { t: 'update'; id: string; patch: Partial<JobRecord> }
  | { t: 'remove'; ids: string[] });

/** One line of the journal or snapshot, with the format version first. */
export function storeLine(e: StoreEvent): string {
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

/**
 * How a file of lines ended: a torn last line (a crash mid-append, never acknowledged) is to be cut off,
 * and a complete last event that only lacks its newline is to get one, so the next append starts on a
 * line of its own instead of merging with the fragment into a line the next start would call corrupt.
 */
export type Tail = { cutAt: number } | { newline: true } | undefined;

/**
 * Reads the events of a file's contents in order, each with where its line is. Only the very last line
 * may be torn; anything else unreadable is corruption (thrown, naming the line).
 */
export function readEvents(data: Buffer, where: string, each: (event: StoreEvent, offset: number, length: number) => void): Tail {
  let tail: Tail;
  let start = 0;
  let line = 0;
  while (start < data.length) {
    let end = data.indexOf(10, start);
    if (end < 0) end = data.length;
    const last = end + 1 >= data.length;
    line++;
    if (end > start) {
      let event: StoreEvent;
      try {
        event = JSON.parse(data.toString('utf8', start, end)) as StoreEvent;
      } catch (err) {
        if (!last) throw new Error(`${where} line ${line} is corrupt: ${(err as Error).message}`);
        return { cutAt: start };
      }
      checkStoreFormat(event, `${where} line ${line}`);
      if (end === data.length) tail = { newline: true };
      each(event, start, end + 1 - start);
    }
    start = end + 1;
  }
  return tail;
}

interface Line {
  text: string;
  /** Called with the line's offset once it is in the file, before any waiter resolves. */
  written?: (offset: number) => void;
}

export class Journal {
  private pending: Line[] = [];
  private waiters: { resolve: () => void; reject: (e: Error) => void; durable: boolean }[] = [];
  private unsynced = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private paused = false;
  /**
   * Where the file must be cut back to before anything more is appended: set when a failed batch left
   * part of itself in the file and cutting it off failed too. Appending after such a fragment would make a
   * corrupt line in the middle of the journal, which the next start refuses; so nothing is.
   */
  private tornAt: number | null = null;
  private failure: { code: string; message: string; at: string } | null = null;

  private constructor(
    private handle: FileHandle | null,
    private size: number,
    /** For messages: the directory the journal is in. */
    private readonly dir: string,
    /** Called after each round of writes (the store decides whether to compact). */
    private readonly afterFlush: () => void,
  ) {}

  /** Opens the journal for appending, first repairing how it ended (see Tail). */
  static async open(path: string, dir: string, tail: Tail, afterFlush: () => void): Promise<Journal> {
    if (tail && 'cutAt' in tail) await truncate(path, tail.cutAt);
    const handle = await open(path, 'a', 0o600);
    try {
      if (tail && 'newline' in tail) {
        await handle.write('\n');
        await handle.sync();
      }
      return new Journal(handle, (await handle.stat()).size, dir, afterFlush);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Bytes in the file. */
  get bytes(): number {
    return this.size;
  }

  /** Why the last write failed, until one succeeds again. */
  get lastError(): { code: string; message: string; at: string } | null {
    return this.failure;
  }

  /** Appends a line; resolves once written (and fsynced when `durable`), or rejects with AGENT_STORE_*. */
  append(text: string, durable: boolean, written?: (offset: number) => void): Promise<void> {
    this.pending.push(written ? { text, written } : { text });
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, durable }));
    void this.kick();
    return p;
  }

  /** Stops writing until resume(); resolves once no write is under way. */
  async pause(): Promise<void> {
    this.paused = true;
    while (this.flushing) await this.flushing.catch(() => undefined);
  }

  /** Continues on `handle` (an empty file) when given, else on the same file. */
  resume(handle?: FileHandle): FileHandle | null {
    const old = this.handle;
    if (handle) {
      this.handle = handle;
      this.size = 0;
    }
    this.paused = false;
    void this.kick();
    return handle ? old : null;
  }

  private async kick(): Promise<void> {
    if (this.flushing || this.paused) return;
    while (this.pending.length > 0) {
      const lines = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      const sync = waiters.some((w) => w.durable);
      this.flushing = this.write(lines, sync);
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
        if (this.unsynced && !this.flushing && !this.paused && this.handle) {
          this.unsynced = false;
          this.flushing = this.handle.datasync().finally(() => (this.flushing = null));
          void this.flushing.then(() => this.kick(), () => undefined);
        }
      }, 200);
      this.syncTimer.unref();
    }
    this.afterFlush();
  }

  /** One batch, all or nothing. */
  private async write(lines: readonly Line[], sync: boolean): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('job store is closed');
    const data = Buffer.from(lines.map((l) => l.text).join(''));
    if (this.tornAt !== null) {
      await handle.truncate(this.tornAt);
      this.size = this.tornAt;
      this.tornAt = null;
    }
    const base = this.size;
    try {
      // A short write is followed by another for the rest, so a full disk shows as ENOSPC, not as a count.
      for (let done = 0; done < data.length; ) {
        const { bytesWritten } = await handle.write(data, done, data.length - done);
        if (bytesWritten === 0) throw new Error(`short write (${done} of ${data.length} bytes)`);
        done += bytesWritten;
      }
      if (sync) await handle.datasync();
    } catch (err) {
      // Every waiter of the batch is refused: whatever part of it reached the file is cut off, so the next
      // append starts on a line of its own. Cutting frees space, so it works on a full disk; if it does
      // not, nothing is appended until it does (tornAt).
      await handle.truncate(base).then(
        () => (this.size = base),
        async () => {
          this.tornAt = base;
          this.size = (await handle.stat().catch(() => null))?.size ?? this.size;
        },
      );
      throw err;
    }
    this.size += data.length;
    let offset = base;
    for (const l of lines) {
      l.written?.(offset);
      offset += Buffer.byteLength(l.text);
    }
    this.unsynced = !sync;
  }

  /** Writes what is pending, fsyncs, and closes the file. */
  async close(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      if (this.flushing) await this.flushing.catch(() => undefined);
      else await this.kick();
    }
    if (this.syncTimer) clearTimeout(this.syncTimer);
    if (this.unsynced) await this.handle?.datasync();
    await this.handle?.close();
    this.handle = null;
  }
}
