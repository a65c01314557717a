/**
 * How an ended job is kept in memory (job-store.ts): its summary, packed. An agent keeps every job until
 * retention removes it (100,000 by default), so each byte here counts 100,000 times: times are numbers
 * rather than ISO strings (the start and end as millisecond offsets from the creation, small integers V8
 * stores inline), states and reasons are shared strings, and the executor's runtime facts (supervisor pid
 * and start time, needed only to find a running job again) are dropped. ~0.2 KiB a job instead of the
 * ~4 KiB of a whole record. Pure: no I/O.
 */
import { JOB_STATES, listDescription, type JobState, type JobSummary } from './job-record.js';

const END_REASONS = ['exited', 'timeout', 'cancel', 'abort', 'lost'] as const;
const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGABRT', 'SIGSEGV', 'SIGPIPE', 'SIGUSR1', 'SIGUSR2'] as const;

/** Executor names ('local', 'ssh:<server>'): one string each, however many jobs ran there. */
const executors = new Map<string, string>();
function sharedExecutor(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  let s = executors.get(name);
  if (s === undefined) executors.set(name, (s = name));
  return s;
}

/** One shared string for a value from a short list, instead of a copy per job parsed from the files. */
function shared<T extends string>(list: readonly T[], value: string): string {
  return list.find((s) => s === value) ?? value;
}

/** An ISO time as epoch milliseconds when that round-trips exactly (it does for every time the agent
 * writes, all made by toISOString); anything else is kept as given. */
export function packTime(s: string): number | string {
  const ms = Date.parse(s);
  return Number.isFinite(ms) && new Date(ms).toISOString() === s ? ms : s;
}

/** Where a job's create line is in the store's files. */
export interface Location {
  file: 0 | 1;
  offset: number;
  length: number;
}

export class EndedJob implements JobSummary {
  private readonly created: number | string;
  private started: number | string | null = null;
  private ended: number | string | null = null;
  private currentState: string;
  exitCode: number | null;
  private currentSignal: string | null = null;
  private reason: string | null = null;
  message: string | null;
  ranOn: JobSummary['ranOn'];
  readonly executor: string | undefined;
  readonly description: string | undefined;
  outputTruncated: true | undefined;
  file: 0 | 1;
  offset: number;
  length: number;

  constructor(
    readonly id: string,
    from: JobSummary,
    at: Location,
  ) {
    this.created = packTime(from.createdAt);
    this.currentState = shared(JOB_STATES, from.state);
    this.startedAt = from.startedAt;
    this.endedAt = from.endedAt;
    this.exitCode = from.exitCode;
    this.signal = from.signal;
    this.endReason = from.endReason;
    this.message = from.message;
    this.ranOn = from.ranOn;
    this.executor = sharedExecutor(from.executor);
    this.description = listDescription(from.description);
    // Left undefined (not false) otherwise: the record shows the field only for a cut output.
    this.outputTruncated = from.outputTruncated ? true : undefined;
    this.file = at.file;
    this.offset = at.offset;
    this.length = at.length;
  }

  /** Start and end relative to the creation: small integers when both are numbers. */
  private packRelative(s: string | null): number | string | null {
    if (s === null) return null;
    const t = packTime(s);
    return typeof t === 'number' && typeof this.created === 'number' ? t - this.created : t;
  }

  private unpackRelative(v: number | string | null): string | null {
    if (v === null || typeof v === 'string') return v;
    return new Date(typeof this.created === 'number' ? this.created + v : v).toISOString();
  }

  get createdAt(): string {
    return typeof this.created === 'number' ? new Date(this.created).toISOString() : this.created;
  }

  get state(): JobState {
    return this.currentState as JobState;
  }

  set state(value: JobState) {
    this.currentState = shared(JOB_STATES, value);
  }

  get startedAt(): string | null {
    return this.unpackRelative(this.started);
  }

  set startedAt(value: string | null) {
    this.started = this.packRelative(value);
  }

  get endedAt(): string | null {
    return this.unpackRelative(this.ended);
  }

  set endedAt(value: string | null) {
    this.ended = this.packRelative(value);
  }

  get signal(): string | null {
    return this.currentSignal;
  }

  set signal(value: string | null) {
    this.currentSignal = value === null ? null : shared(SIGNALS, value);
  }

  get endReason(): string | null {
    return this.reason;
  }

  set endReason(value: string | null) {
    this.reason = value === null ? null : shared(END_REASONS, value);
  }

  /** Not kept for ended jobs (see above). */
  get runtime(): null {
    return null;
  }

  set runtime(_value: JobSummary['runtime']) {
    /* dropped: only a job that has not ended needs it */
  }
}
