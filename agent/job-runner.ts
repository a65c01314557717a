/**
 * The job lifecycle: admission (capacity, queue), durable record before start, dispatch to the right
 * executor, state changes as events, cancel/abort, re-adoption after a restart, retention. No HTTP here.
 */
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { LogSink } from '../core/lazy-logger.js';
import type { AgentConfig } from './config.js';
import { agentError } from './errors.js';
import type { Execution, Executor, ExitInfo, JobPaths, JobSpec } from './executors/executor.js';
import { FINAL_STATES, newJobId, stateForExit, type JobRecord, type JobSummary, type SubmittedBy } from './job-record.js';
import { toJobSpec, type JobRequest, type ListQuery } from './job-request.js';
import type { JobStore } from './job-store.js';
import { expiredJobs } from './retention.js';
import { policyRefusal } from './job-policy.js';
import { askedOf, controlRefusal, entryRefusal, jobRefusal, matchRule, type Identity } from './permissions.js';
import { expandTemplate } from './templates.js';
import { idempotencyScope, requestFingerprint } from './idempotency.js';
import { diskRefusal, type DiskReading } from './disk-space.js';
import { effectiveOutputCap } from './output-cap.js';

/** How soon a held queue (disk below the floor, dispatch mark not writable) is tried again. */
const PUMP_RETRY_MS = 2000;

export interface ExecutorSlot {
  readonly executor?: Executor;
  /** Why this process server cannot run jobs (its executor failed to initialise). */
  readonly unavailable?: string;
}

export interface RunnerDeps {
  readonly config: Readonly<AgentConfig>;
  readonly store: JobStore;
  readonly local: Executor;
  readonly processServers: ReadonlyMap<string, ExecutorSlot>;
  readonly logger: LogSink;
  /** Local pre-flight checks that must answer the client directly (interpreter, run-as, sudo). */
  readonly precheckLocal: (spec: JobSpec) => Promise<void>;
  readonly credentialExists: (key: string) => Promise<boolean>;
  /**
   * The value behind a secretEnv key (a password credential); throws AGENT_CREDENTIAL_UNKNOWN or
   * AGENT_SECRET_ENV_NOT_PASSWORD. Values live only in memory while a job starts and for masking.
   */
  readonly secretValue: (key: string) => Promise<string>;
  /** The user the agent runs as (a local job may always name it as runAs). */
  readonly agentUser: string;
  /** This boot of the host (/proc/sys/kernel/random/boot_id): tells an agent restart from a host restart. */
  readonly bootId: string;
  /** dataDir's free space against minFreeBytes, read now (disk-space.ts). */
  readonly disk: () => DiskReading;
}

export interface Submission {
  readonly job: JobRecord;
  /** True when an Idempotency-Key named a job that already existed: nothing new was started. */
  readonly replayed: boolean;
}

export interface JobChange {
  readonly id: string;
  readonly state: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly at: string;
}

export class JobRunner extends EventEmitter<{ change: [JobChange] }> {
  private readonly running = new Map<string, Execution>();
  private readonly queue: string[] = [];
  private starting = 0;
  private readonly pendingControl = new Map<string, 'cancel' | 'abort'>();
  /** Submissions with an Idempotency-Key still being recorded, by scope: a repeat waits for their outcome. */
  private readonly inflight = new Map<string, Promise<unknown>>();
  private closing = false;
  /** Set while queued jobs wait for space (or for their dispatch mark to be writable): pump tries again then. */
  private pumpRetry: NodeJS.Timeout | null = null;
  private queueHeld = false;
  readonly counters = { submitted: 0, rejectedFull: 0, rejectedDisk: 0, finished: new Map<string, number>() };

  constructor(private readonly deps: RunnerDeps) {
    super();
    this.setMaxListeners(0);
  }

  get runningCount(): number {
    return this.running.size + this.starting;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** The job's summary (state, times, exit): what is in memory for every job. */
  get(id: string): JobSummary {
    const job = this.deps.store.jobs.get(id);
    if (!job) throw agentError('AGENT_JOB_NOT_FOUND', `no job ${id} on this agent`);
    return job;
  }

  /** The whole record (what was asked too); an ended job's is read back from the job store's files. */
  record(id: string): JobRecord {
    const job = this.deps.store.record(id);
    if (!job) throw agentError('AGENT_JOB_NOT_FOUND', `no job ${id} on this agent`);
    return job;
  }

  /** Newest first; `after` continues below the given id. Summaries only: no record is read back. */
  list(q: ListQuery): JobSummary[] {
    const all = [...this.deps.store.jobs.values()].filter((j) => !q.state || j.state === q.state);
    all.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const start = q.after ? all.findIndex((j) => j.id < (q.after as string)) : 0;
    return start < 0 ? [] : all.slice(start, start + q.limit);
  }

  paths(id: string): JobPaths {
    const dir = this.deps.store.jobDir(id);
    return { dir, output: join(dir, 'output') };
  }

  private executorFor(spec: JobSpec): Executor {
    if (!spec.processServer) return this.deps.local;
    const slot = this.deps.processServers.get(spec.processServer);
    if (!slot) throw agentError('AGENT_PROCESS_SERVER_UNKNOWN', `no process server named ${spec.processServer} in agent.yaml`);
    if (!slot.executor) {
      throw agentError('AGENT_PROCESS_SERVER_UNAVAILABLE', `process server ${spec.processServer} is unavailable: ${slot.unavailable ?? 'not initialised'}`);
    }
    return slot.executor;
  }

  /**
   * Accepts a job. With an Idempotency-Key, a key already used (in the client's scope, within the window)
   * answers the existing job, whatever its state, and starts nothing; the same key with another body is
   * refused. A repeat that arrives while the first is still being recorded waits for it.
   */
  async submit(request: JobRequest, submittedBy: SubmittedBy | null, idempotencyKey?: string): Promise<Submission> {
    if (idempotencyKey === undefined) return { job: await this.create(request, submittedBy, undefined), replayed: false };
    const scope = idempotencyScope(submittedBy, idempotencyKey);
    const fingerprint = requestFingerprint(request);
    for (;;) {
      const earlier = this.inflight.get(scope);
      if (!earlier) break;
      await earlier.catch(() => undefined);
    }
    const known = this.deps.store.idempotent(scope);
    if (known) {
      if (known.fingerprint !== fingerprint) {
        throw agentError('AGENT_IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${idempotencyKey} was used for job ${known.id} with a different request; nothing was started`, {
          details: { jobId: known.id },
        });
      }
      return { job: this.record(known.id), replayed: true };
    }
    const created = this.create(request, submittedBy, { key: idempotencyKey, fingerprint });
    this.inflight.set(scope, created);
    try {
      return { job: await created, replayed: false };
    } finally {
      this.inflight.delete(scope);
    }
  }

  private async create(request: JobRequest, submittedBy: SubmittedBy | null, idempotency: JobRecord['idempotency']): Promise<JobRecord> {
    if (this.closing) throw agentError('AGENT_SHUTTING_DOWN', 'the agent is stopping and accepts no new jobs');
    const { config } = this.deps;
    const id = newJobId(Date.now(), randomBytes(5));
    // Refused before anything else is looked at, so a client learns nothing about what it may not use.
    const entry = entryRefusal(config.permissions, submittedBy, request.template);
    if (entry) throw entry;
    const { job: asked, template } = this.fromTemplate(request);
    const defaultRunAs = asked.processServer ? undefined : config.runAs.defaultUser;
    let spec = toJobSpec(id, asked, { runAs: defaultRunAs, timeoutSeconds: config.defaultTimeoutSeconds });
    // A job without a timeout gets its rule's longest one, rather than a refusal the client must work around.
    const max = config.permissions && matchRule(config.permissions, submittedBy)?.maxTimeoutSeconds;
    if (max !== undefined && spec.timeoutSeconds === undefined) spec = { ...spec, timeoutSeconds: max };
    const denied = jobRefusal(config.permissions, submittedBy, askedOf(spec, template?.name, config.processServers, this.deps.agentUser));
    if (denied) throw denied;
    if (spec.credentialKey !== undefined) {
      if (!spec.processServer) throw agentError('AGENT_BAD_REQUEST', 'credentialKey applies to jobs with a processServer');
      if (!(await this.deps.credentialExists(spec.credentialKey))) {
        throw agentError('AGENT_CREDENTIAL_UNKNOWN', `no credential with key ${spec.credentialKey} in the agent's credential store`);
      }
    }
    for (const key of new Set(Object.values(spec.secretEnv ?? {}))) await this.deps.secretValue(key);
    const executor = this.executorFor(spec);
    const refusal = policyRefusal(spec, config, this.deps.agentUser);
    if (refusal) throw refusal;
    if (!spec.processServer) await this.deps.precheckLocal(spec);
    if (spec.maxOutputBytes !== undefined && spec.maxOutputBytes > config.maxOutputBytes) {
      throw agentError('AGENT_OUTPUT_LIMIT_TOO_HIGH', `maxOutputBytes: this agent keeps at most ${config.maxOutputBytes} bytes of a job's output`, {
        details: { maxOutputBytes: config.maxOutputBytes },
      });
    }
    // Last of the checks, so a bad request is still told what is wrong with it; replays never get here.
    const low = diskRefusal(this.deps.disk(), config.dataDir);
    if (low) {
      this.counters.rejectedDisk++;
      throw low;
    }

    // Reserve the slot or queue place synchronously so concurrent submits cannot overshoot.
    const startNow = this.runningCount < config.maxConcurrentJobs && this.queue.length === 0;
    if (!startNow && this.queue.length >= config.queueLimit) {
      this.counters.rejectedFull++;
      throw agentError('AGENT_QUEUE_FULL', `${this.runningCount} jobs running and ${this.queue.length} queued (the limit); try again later`, {
        details: { retryAfterSeconds: this.retryAfterSeconds() },
      });
    }
    if (startNow) this.starting++;
    else this.queue.push(id);
    const job: JobRecord = {
      id,
      state: 'queued',
      spec,
      ...(request.description !== undefined ? { description: request.description } : {}),
      executor: executor.name,
      createdAt: new Date().toISOString(),
      startedAt: null,
      endedAt: null,
      exitCode: null,
      signal: null,
      endReason: null,
      message: null,
      runtime: null,
      ranOn: null,
      submittedBy,
      ...(template ? { template } : {}),
      ...(idempotency ? { idempotency } : {}),
      // Started at once: the create line, fsynced before the start, is the durable mark of the dispatch.
      ...(startNow ? { dispatch: { boot: this.deps.bootId } } : {}),
    };
    try {
      await this.deps.store.create(job);
    } catch (err) {
      if (startNow) this.starting--;
      else this.queue.splice(this.queue.indexOf(id), 1);
      this.deps.store.discard(id);
      throw err;
    }
    this.counters.submitted++;
    this.emitChange(job);
    if (startNow) await this.dispatch(job, executor);
    return job;
  }

  /**
   * A template request as the job it stands for (templates.ts); any other request as it is. The request may
   * add what the template leaves open (runAs, processServer) and shorten its timeout, nothing more.
   */
  private fromTemplate(request: JobRequest): { job: JobRequest; template?: NonNullable<JobRecord['template']> } {
    if (request.template === undefined) return { job: request };
    const template = this.deps.config.templates.find((t) => t.name === request.template);
    if (!template) throw agentError('AGENT_TEMPLATE_UNKNOWN', `no template named ${request.template} on this agent`);
    const fixed = (['runAs', 'processServer'] as const).filter((k) => request[k] !== undefined && template[k] !== undefined);
    if (fixed.length > 0) throw agentError('AGENT_BAD_REQUEST', fixed.map((k) => `${k}: fixed by template ${template.name} (${String(template[k])})`).join('; '));
    if (request.timeoutSeconds !== undefined && template.timeoutSeconds !== undefined && request.timeoutSeconds > template.timeoutSeconds) {
      throw agentError('AGENT_BAD_REQUEST', `timeoutSeconds: template ${template.name} allows at most ${template.timeoutSeconds}`);
    }
    const { job, record } = expandTemplate(template, request.inputs ?? {});
    return {
      job: {
        ...job,
        ...(request.runAs !== undefined ? { runAs: request.runAs } : {}),
        ...(request.processServer !== undefined ? { processServer: request.processServer } : {}),
        ...(request.timeoutSeconds !== undefined ? { timeoutSeconds: request.timeoutSeconds } : {}),
        ...(request.maxOutputBytes !== undefined ? { maxOutputBytes: request.maxOutputBytes } : {}),
        ...(request.description !== undefined ? { description: request.description } : {}),
      },
      template: record,
    };
  }

  /**
   * The values of a job's secretEnv, for masking its output (output-mask.ts). Resolved from the credential
   * store on each call: a key removed or rotated since the job ran can no longer be masked.
   */
  async secretValues(id: string): Promise<string[]> {
    const keys = new Set(Object.values(this.record(id).spec.secretEnv ?? {}));
    const values: string[] = [];
    for (const key of keys) {
      const value = await this.deps.secretValue(key).catch(() => undefined);
      if (value) values.push(value);
    }
    return values;
  }

  retryAfterSeconds(): number {
    return Math.min(60, Math.max(1, Math.ceil(this.queue.length / Math.max(1, this.deps.config.maxConcurrentJobs))));
  }

  /**
   * The job's spec as its executor gets it: the policy checked again under the current config (a queued
   * job's run-as user or key may have been removed by a reload since it was accepted) and secretEnv
   * resolved into env. The result is never stored.
   */
  private async startSpec(job: JobRecord): Promise<JobSpec> {
    const { spec } = job;
    const { config } = this.deps;
    if (job.template && !config.templates.some((t) => t.name === job.template?.name)) {
      throw agentError('AGENT_TEMPLATE_UNKNOWN', `template ${job.template.name} is no longer in agent.yaml`);
    }
    const refusal =
      entryRefusal(config.permissions, job.submittedBy, job.template?.name) ??
      jobRefusal(config.permissions, job.submittedBy, askedOf(spec, job.template?.name, config.processServers, this.deps.agentUser)) ??
      policyRefusal(spec, config, this.deps.agentUser);
    if (refusal) throw refusal;
    // The cap in force now: a reload that lowered the agent's value applies to jobs queued before it.
    const capped = { ...spec, maxOutputBytes: effectiveOutputCap(spec.maxOutputBytes, config.maxOutputBytes) };
    const secretEnv = Object.entries(spec.secretEnv ?? {});
    if (secretEnv.length === 0) return capped;
    const env: Record<string, string> = { ...spec.env };
    for (const [name, key] of secretEnv) env[name] = await this.deps.secretValue(key);
    return { ...capped, env };
  }

  /** Starts a job whose slot is already counted in `starting`. */
  private async dispatch(job: JobRecord, executor: Executor): Promise<void> {
    const paths = this.paths(job.id);
    let execution: Execution;
    try {
      execution = await executor.start(await this.startSpec(job), paths);
    } catch (err) {
      this.starting--;
      // A cancel or abort that arrived while it was starting has nothing left to stop.
      this.pendingControl.delete(job.id);
      // Refusals name their code: nobody gets an HTTP answer for a job that was queued.
      const code = (err as { code?: unknown }).code;
      const message = typeof code === 'string' && /^AGENT_(RUNAS|CREDENTIAL|SECRET_ENV|PERMISSION|TEMPLATE)_/.test(code) ? `${code}: ${(err as Error).message}` : (err as Error).message;
      this.deps.logger.warn('job start failed', { jobId: job.id, error: message, submittedBy: job.submittedBy });
      this.finish(job, { exitCode: null, signal: null, reason: 'exited', endedAt: new Date().toISOString(), message });
      return;
    }
    this.starting--;
    this.adopt(job, execution, new Date().toISOString());
  }

  private adopt(job: JobRecord, execution: Execution, startedAt: string | null): void {
    this.running.set(job.id, execution);
    if (startedAt) {
      this.changed(job.id, { state: 'running', startedAt, runtime: execution.runtime });
    }
    const control = this.pendingControl.get(job.id);
    if (control) {
      this.pendingControl.delete(job.id);
      // Nobody awaits a deferred cancel/abort: a failure must be logged, not crash the agent as an
      // unhandled rejection.
      const sent = control === 'abort' ? execution.abort() : execution.cancel(this.deps.config.cancelGraceSeconds * 1000);
      sent.catch((err: Error) => this.deps.logger.error(`deferred ${control} failed`, { jobId: job.id, error: err.message }));
    }
    execution.done.then(
      (exit) => this.finish(job, exit),
      (err: Error) => this.finish(job, { exitCode: null, signal: null, reason: 'lost', endedAt: new Date().toISOString(), message: err.message }),
    );
  }

  private finish(job: JobRecord, exit: ExitInfo): void {
    this.running.delete(job.id);
    const patch: Partial<JobRecord> = {
      state: exit.message && exit.reason === 'exited' && exit.exitCode === null ? 'failed' : stateForExit(exit),
      endedAt: exit.endedAt,
      exitCode: exit.exitCode,
      signal: exit.signal,
      endReason: exit.reason,
      message: exit.message ?? null,
      ...(exit.ranOn ? { ranOn: exit.ranOn } : {}),
      ...(exit.outputTruncated ? { outputTruncated: true } : {}),
    };
    this.changed(job.id, patch);
    const state = patch.state as string;
    this.counters.finished.set(state, (this.counters.finished.get(state) ?? 0) + 1);
    this.deps.logger.info('job ended', { jobId: job.id, state, exitCode: exit.exitCode, signal: exit.signal });
    if (exit.survivors?.length) {
      this.deps.logger.error('job processes survived the kill', { jobId: job.id, survivors: exit.survivors.map((s) => `${s.pid}:${s.user}`).join(' ') });
    }
    this.pump();
  }

  private pump(): void {
    if (!this.closing && this.queue.length > 0 && this.runningCount < this.deps.config.maxConcurrentJobs) {
      // A job started on a disk below the floor could not write its output or even its exit status: queued
      // jobs wait for space instead (running ones go on), and start by themselves once it is back.
      const disk = this.deps.disk();
      if (!disk.ok) {
        if (!this.queueHeld) this.deps.logger.warn('queued jobs wait: dataDir is below minFreeBytes', { freeBytes: disk.freeBytes, floorBytes: disk.floorBytes, queued: this.queue.length });
        this.queueHeld = true;
        this.retryPumpSoon();
        return;
      }
      if (this.queueHeld) this.deps.logger.info('queued jobs start again: dataDir has space', { freeBytes: disk.freeBytes, queued: this.queue.length });
      this.queueHeld = false;
    }
    while (!this.closing && this.queue.length > 0 && this.runningCount < this.deps.config.maxConcurrentJobs) {
      const id = this.queue.shift() as string;
      // Queued jobs are kept whole in memory: no file read here.
      const job = this.deps.store.record(id);
      if (!job || job.state !== 'queued') continue;
      let executor: Executor;
      try {
        executor = this.executorFor(job.spec);
      } catch (err) {
        this.finish(job, { exitCode: null, signal: null, reason: 'exited', endedAt: new Date().toISOString(), message: (err as Error).message });
        continue;
      }
      this.starting++;
      void this.dispatchQueued(job, executor);
    }
  }

  /**
   * A queued job is marked as dispatched, durably, before its process starts, so that after a crash it is
   * never started a second time (recover). Until the mark is on disk the job does not start; if it cannot
   * be written the job goes back to the head of the queue.
   */
  private async dispatchQueued(job: JobRecord, executor: Executor): Promise<void> {
    try {
      await this.deps.store.markDispatched(job.id, { boot: this.deps.bootId });
    } catch (err) {
      this.starting--;
      this.queue.unshift(job.id);
      this.deps.logger.error('cannot record the start of a queued job; it stays queued', { jobId: job.id, error: (err as Error).message });
      this.retryPumpSoon();
      return;
    }
    await this.dispatch(job, executor);
  }

  /** `caller`: who asks (the identity the gateway forwarded), judged by the permissions' `control`. */
  async control(id: string, kind: 'cancel' | 'abort', caller: Identity | null): Promise<JobSummary> {
    const { state } = this.get(id);
    const denied = controlRefusal(this.deps.config.permissions, caller, this.record(id).submittedBy, kind, id);
    if (denied) throw denied;
    if (FINAL_STATES.has(state)) throw agentError('AGENT_JOB_FINISHED', `job ${id} has already ended (${state})`);
    // Not ended, so kept whole in memory.
    const job = this.record(id);
    const queued = this.queue.indexOf(id);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finish(job, { exitCode: null, signal: null, reason: kind, endedAt: new Date().toISOString(), message: `${kind}led before it started` });
      return job;
    }
    const execution = this.running.get(id);
    if (!execution) this.pendingControl.set(id, kind);
    else if (kind === 'abort') await execution.abort();
    else await execution.cancel(this.deps.config.cancelGraceSeconds * 1000);
    return job;
  }

  /** Nothing else may happen for a while (no job ends, no submission): the queue must move on by itself. */
  private retryPumpSoon(): void {
    if (this.pumpRetry || this.closing) return;
    this.pumpRetry = setTimeout(() => {
      this.pumpRetry = null;
      this.pump();
    }, PUMP_RETRY_MS);
    this.pumpRetry.unref();
  }

  /** After a restart: re-adopt running jobs, collect finished ones, requeue what never started. */
  async recover(): Promise<{ readopted: number; requeued: number; lost: number }> {
    const counts = { readopted: 0, requeued: 0, lost: 0 };
    // Jobs that have not ended are kept whole in memory: no file reads here.
    const pending = [...this.deps.store.jobs.values()].filter((j) => !FINAL_STATES.has(j.state)).map((j) => this.record(j.id));
    pending.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const job of pending) {
      const paths = this.paths(job.id);
      const dispatched = job.state === 'running' || (await dirExists(paths.dir));
      if (!dispatched && job.dispatch && job.dispatch.boot !== this.deps.bootId) {
        // The host restarted after the start was recorded: the job may have run (its directory need not
        // have reached the disk), and starting it again could run it twice.
        counts.lost++;
        this.finish(job, { exitCode: null, signal: null, reason: 'lost', endedAt: new Date().toISOString(), message: 'the host restarted after this job was started; whether it ran cannot be known' });
        continue;
      }
      // A local job is launched only after its directory exists, and without a host restart the page cache
      // tells the truth: no directory, never launched. An SSH job makes its directory only once it prints,
      // so a recorded start sends it to reattach, which asks the target: found, never started (queued
      // again below), or lost when the target cannot tell.
      if (!dispatched && !(job.dispatch && job.executor !== 'local')) {
        this.queue.push(job.id);
        counts.requeued++;
        continue;
      }
      let result: Execution | { lost: string } | { notStarted: string };
      try {
        // With the cap in force (an SSH job's output is written here; a local supervisor has its own).
        const spec = { ...job.spec, maxOutputBytes: effectiveOutputCap(job.spec.maxOutputBytes, this.deps.config.maxOutputBytes) };
        result = await this.executorFor(job.spec).reattach(spec, job.runtime ?? {}, paths);
      } catch (err) {
        result = { lost: `cannot re-attach: ${(err as Error).message}` };
      }
      if ('lost' in result) {
        counts.lost++;
        this.finish(job, { exitCode: null, signal: null, reason: 'lost', endedAt: new Date().toISOString(), message: result.lost });
        continue;
      }
      if ('notStarted' in result) {
        this.deps.logger.info('job queued again: it never started', { jobId: job.id, why: result.notStarted });
        this.queue.push(job.id);
        counts.requeued++;
        continue;
      }
      counts.readopted++;
      if (job.state !== 'running') {
        this.changed(job.id, { state: 'running', startedAt: job.createdAt, runtime: result.runtime }, false);
      }
      this.adopt(job, result, null);
    }
    this.pump();
    return counts;
  }

  /** Retention (see retention.ts): removes records and output of expired jobs. */
  async applyRetention(now = Date.now()): Promise<number> {
    const { jobs } = this.deps.store;
    const drop = expiredJobs(jobs.values(), jobs.size, this.deps.config.retention, now);
    if (drop.length === 0) return 0;
    await this.deps.store.remove(drop);
    await this.deps.store.removeDirs(drop);
    return drop.length;
  }

  private emitChange(job: JobSummary): void {
    this.emit('change', { id: job.id, state: job.state, exitCode: job.exitCode, signal: job.signal, at: new Date().toISOString() });
  }

  /**
   * Records a change of a job and, unless `announce` is false, tells listeners with the job as the store
   * has it now. Nobody awaits the journal write: an I/O error is logged (GET /v1/status shows it too),
   * never left to end the agent as an unhandled rejection.
   */
  private changed(id: string, patch: Partial<JobRecord>, announce = true): void {
    const { summary, written } = this.deps.store.update(id, patch);
    written.catch((err: Error) => this.deps.logger.error('journal write failed', { jobId: id, error: err.message }));
    if (announce && summary) this.emitChange(summary);
  }

  /** Stops accepting and launching; running jobs continue under their supervisors. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pumpRetry) clearTimeout(this.pumpRetry);
    this.pumpRetry = null;
  }
}

async function dirExists(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
