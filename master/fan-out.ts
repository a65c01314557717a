/**
 * One job on many targets: for each target pick a candidate agent, submit, follow the output to the end,
 * and report one result row. Runs under the scheduler's concurrency level and time span. `cancelAll` and
 * `abortAll` reach every job already submitted (Ctrl-C and a second Ctrl-C) and stop new submissions.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ClientPool, JobRecord } from './client.js';
import { chooseCandidate, type Choice, type Strategy } from './candidates.js';
import { followOutput } from './follow.js';
import { commandSummary, renderDescription, type JobRequest } from './job-request.js';
import { abortableSleep, schedule } from './scheduler.js';
import type { HostResult, HostState } from './summary.js';
import type { Target } from './targets.js';
import { submitRetryDelay } from './submit-retry.js';

export interface FanOutEvents {
  /** The host got a lane: its candidates are probed or its connection opened next. */
  started?(host: string): void;
  choice?(host: string, choice: Choice): void;
  submitted?(host: string, agent: string, jobId: string): void;
  output?(host: string, data: Buffer): void;
  resumed?(host: string, offset: number, reason: string): void;
  done?(result: HostResult): void;
}

export interface FanOutOptions {
  targets: readonly Target[];
  request: JobRequest;
  pool: ClientPool;
  concurrency: number;
  timeSpanMs?: number | undefined;
  strategy?: Strategy;
  /** Stop submitting once this many hosts did not succeed; jobs already submitted run to their end. */
  maxFailures?: number | undefined;
  events?: FanOutEvents;
  /**
   * Names this run in the idempotency key of each host's submission (submissionKey); random
   * by default. Running the same targets with the same runId again (a master that crashed mid-run)
   * gets the jobs already accepted back instead of starting them twice, within the agents' key window.
   */
  runId?: string | undefined;
}

const UNREACHABLE = new Set(['MASTER_AGENT_UNREACHABLE', 'MASTER_CONNECT_TIMEOUT', 'MASTER_NO_CANDIDATE', 'MASTER_TLS_FAILED', 'MASTER_REQUEST_TIMEOUT']);

interface Submitted {
  host: string;
  agent: string;
  jobId: string;
  ended: boolean;
}

export class FanOut {
  readonly #o: FanOutOptions;
  readonly #stop = new AbortController();
  readonly #submitted = new Set<Submitted>();
  #mode: 'run' | 'cancel' | 'abort' = 'run';
  #failures = 0;
  readonly #inUse = new Map<string, number>();
  #maxFailuresReached = false;
  readonly #runId: string;

  constructor(options: FanOutOptions) {
    this.#o = options;
    this.#runId = options.runId ?? randomBytes(8).toString('hex');
  }

  /** The run's id, as it appears in every submission's idempotency key. */
  get runId(): string {
    return this.#runId;
  }

  get interrupted(): boolean {
    return this.#mode !== 'run';
  }

  /** True when --max-failures stopped new submissions. */
  get stoppedEarly(): boolean {
    return this.#maxFailuresReached;
  }

  /** Every finished host goes through here: counts failures against maxFailures, then tells the caller. */
  #done(row: HostResult): void {
    if (row.state !== 'succeeded' && row.state !== 'skipped') {
      this.#failures++;
      const max = this.#o.maxFailures;
      if (max !== undefined && this.#failures >= max && !this.#maxFailuresReached && this.#mode === 'run') {
        this.#maxFailuresReached = true;
        this.#stop.abort();
      }
    }
    this.#o.events?.done?.(row);
  }

  async run(): Promise<HostResult[]> {
    const { targets } = this.#o;
    const slots = await schedule(
      targets,
      { concurrency: this.#o.concurrency, timeSpanMs: this.#o.timeSpanMs, signal: this.#stop.signal },
      (target) => this.#runOne(target),
    );
    return slots.map((slot, i) => {
      const host = (targets[i] as Target).name;
      if (slot.status === 'done') return slot.value;
      const row = blank(host, 'skipped');
      if (slot.status === 'failed') Object.assign(row, failure(slot.error));
      else row.error = { code: 'MASTER_NOT_STARTED', message: this.#notStartedWhy(slot.reason) };
      this.#done(row);
      return row;
    });
  }

  #notStartedWhy(reason: 'cancelled' | 'time-span'): string {
    if (reason === 'time-span') return 'not started within --time-span';
    if (this.#mode === 'run' && this.#maxFailuresReached) return `not started: ${this.#failures} hosts had failed (--max-failures ${this.#o.maxFailures})`;
    return 'not started: the run was interrupted';
  }

  /** SIGTERM every submitted job still running (the agent escalates to SIGKILL after its grace period). */
  cancelAll(): Promise<void> {
    return this.#signalAll('cancel');
  }

  /** SIGKILL every submitted job's whole process group at once. */
  abortAll(): Promise<void> {
    return this.#signalAll('abort');
  }

  async #signalAll(mode: 'cancel' | 'abort'): Promise<void> {
    this.#mode = mode;
    this.#stop.abort();
    await Promise.all([...this.#submitted].filter((s) => !s.ended).map((s) => this.#signal(s, mode)));
  }

  async #signal(s: Submitted, mode: 'cancel' | 'abort'): Promise<void> {
    const client = this.#o.pool.get(s.agent);
    await (mode === 'cancel' ? client.cancel(s.jobId) : client.abort(s.jobId)).catch(() => undefined);
  }

  async #runOne(target: Target): Promise<HostResult> {
    const { events } = this.#o;
    events?.started?.(target.name);
    try {
      return await this.#runHost(target);
    } finally {
      this.#release(target);
    }
  }

  /**
   * A finished host's keep-alive connections are closed at once: at thousands of hosts, idle TLS sockets
   * waiting for their keep-alive timeout would hold most of the master's memory and file descriptors.
   * A URL shared by several targets (a common candidate) stays open until the last of them is done.
   */
  #release(target: Target): void {
    for (const url of target.candidates) {
      const left = (this.#inUse.get(url) ?? 1) - 1;
      if (left > 0) {
        this.#inUse.set(url, left);
        continue;
      }
      this.#inUse.delete(url);
      this.#o.pool.drop(url).catch(() => undefined);
    }
  }

  async #runHost(target: Target): Promise<HostResult> {
    const { pool, request, events } = this.#o;
    for (const url of target.candidates) this.#inUse.set(url, (this.#inUse.get(url) ?? 0) + 1);
    const row = blank(target.name, 'queued');
    const began = Date.now();
    let choice: Choice;
    try {
      choice = await chooseCandidate(target.candidates, (url) => pool.get(url).status(), this.#o.strategy ?? 'first', request.processServer);
    } catch (err) {
      Object.assign(row, failure(err));
      this.#done(row);
      return row;
    }
    events?.choice?.(target.name, choice);
    row.agent = choice.url;
    if (this.#stop.signal.aborted) {
      // Interrupted (or --max-failures reached) while probing candidates: nothing was submitted, so nothing must be.
      row.state = 'skipped';
      row.error = { code: 'MASTER_NOT_STARTED', message: this.#notStartedWhy('cancelled') };
      this.#done(row);
      return row;
    }
    const client = pool.get(choice.url);
    const body: JobRequest = { ...request };
    if (request.description !== undefined) {
      body.description = renderDescription(request.description, { host: target.name, command: commandSummary(request) });
    }
    let submitted: Submitted;
    try {
      const key = submissionKey(this.#runId, target.name);
      const created = await submitWithRetry(() => client.submit(body, undefined, key), () => this.#mode !== 'run');
      submitted = { host: target.name, agent: choice.url, jobId: created.id, ended: false };
      this.#submitted.add(submitted);
      row.jobId = created.id;
      row.state = created.state as HostState;
      events?.submitted?.(target.name, choice.url, created.id);
    } catch (err) {
      Object.assign(row, failure(err));
      row.durationMs = Date.now() - began;
      this.#done(row);
      return row;
    }
    // Interrupted while the submission was in flight: this job must not be left running.
    if (this.#mode !== 'run') await this.#signal(submitted, this.#mode);
    try {
      const followed = await followOutput(client, submitted.jobId, {
        onData: (data) => {
          row.outputBytes += data.length;
          events?.output?.(target.name, data);
        },
        onResume: (offset, reason) => events?.resumed?.(target.name, offset, reason),
      });
      Object.assign(row, fromRecord(followed.job, Date.now() - began));
    } catch (err) {
      Object.assign(row, failure(err));
      row.state = 'error';
      row.durationMs = Date.now() - began;
    }
    submitted.ended = true;
    this.#submitted.delete(submitted);
    this.#done(row);
    return row;
  }
}

/**
 * Sends a keyed submission until it gets an answer: a full queue is waited for, a failure in transit is
 * resent with the same key (submit-retry.ts). Not while the run is being interrupted: a submission the
 * agent did accept is then found by nobody, but it still ends with its timeout like any job left behind.
 */
async function submitWithRetry<R>(submit: () => Promise<R>, stopping: () => boolean): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await submit();
    } catch (err) {
      const delay = submitRetryDelay(err, attempt, true, Math.random());
      if (delay === null || stopping()) throw err;
      await abortableSleep(delay);
    }
  }
}

/** One key per run and host: the host's name hashed, so any name fits the agent's key alphabet. */
export function submissionKey(runId: string, host: string): string {
  return `${runId}:${createHash('sha256').update(host).digest('hex').slice(0, 16)}`;
}

function blank(host: string, state: HostState): HostResult {
  return { host, agent: null, jobId: null, state, exitCode: null, signal: null, durationMs: null, error: null, outputBytes: 0 };
}

function failure(err: unknown): Pick<HostResult, 'state' | 'error'> {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? 'MASTER_INTERNAL';
  return { state: UNREACHABLE.has(code) ? 'unreachable' : 'error', error: { code, message: e.message ?? String(err) } };
}

/** The agent's job record as a result row; the agent's own timings win over the master's clock. */
export function fromRecord(job: JobRecord, fallbackMs: number): Partial<HostResult> {
  const started = job.startedAt ? Date.parse(job.startedAt) : NaN;
  const ended = job.endedAt ? Date.parse(job.endedAt) : NaN;
  return {
    state: job.state as HostState,
    exitCode: typeof job.exitCode === 'number' ? job.exitCode : null,
    signal: typeof job.signal === 'string' ? job.signal : null,
    durationMs: Number.isFinite(started) && Number.isFinite(ended) ? ended - started : fallbackMs,
  };
}
