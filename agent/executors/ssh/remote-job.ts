/**
 * One job on a process server: launched detached by the remote wrapper, followed over exec channels, and
 * followed again from the last byte received whenever a channel or connection dies (or after an agent
 * restart), so the local output file gets every byte exactly once.
 */
import { statSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { constants } from 'node:os';
import type { Logger } from '../../../core/logger.js';
import { agentError } from '../../errors.js';
import type { EndReason, Execution, ExitInfo, RuntimeInfo } from '../executor.js';
import type { ExecResult, SshPool } from './connection-pool.js';
import { parseEndLine, type EndLine, type FollowStep } from './job-plan.js';
import { ATTACH, KILL, remoteCommand, type RemoteUser } from './remote-scripts.js';
import { OutputCap, outputCutMarker } from '../../output-cap.js';

export interface FollowTuning {
  /**
   * Seconds the launch channel streams before we close it and follow with attach slices instead (each
   * holds a session for at most attachSlice seconds, so long jobs cannot starve new launches).
   */
  readonly launchSlice: number;
  readonly attachSlice: number;
  /** How often an attach slice checks whether the job has ended. */
  readonly attachInterval: number;
}

/** Reads a wrapper exec's answer: the end line, a channel we cut (follow on), or the files are gone. */
export function stepOf(result: ExecResult): FollowStep {
  const end = parseEndLine(result.stderr);
  if (end) return end;
  if (result.cut) return null;
  if (/^outpost-missing/m.test(result.stderr)) return 'missing';
  throw new Error(`unexpected answer from the remote wrapper (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`);
}

export const DEFAULT_TUNING: FollowTuning = { launchSlice: 10, attachSlice: 30, attachInterval: 0.25 };

export interface RemoteJobContext {
  readonly server: string;
  readonly host: string;
  readonly pool: SshPool;
  readonly user: RemoteUser;
  readonly logger: Logger;
  readonly tuning: FollowTuning;
  /** Remote files of a finished job may be removed. */
  readonly finished: (id: string, user: RemoteUser) => void;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, num]) => [num, name]));
const TIMEOUT_GRACE_MS = 2000;

export class RemoteJob implements Execution {
  readonly done: Promise<ExitInfo>;
  private resolveDone!: (info: ExitInfo) => void;
  private killedFor: Exclude<EndReason, 'exited' | 'lost'> | null = null;
  /** A kill that could not be delivered (target unreachable); sent again once the job is reached. */
  private killOwed = false;
  private ended = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly ctx: RemoteJobContext,
    readonly id: string,
    readonly runtime: RuntimeInfo,
    /** The local output file, opened on the first byte (most short jobs print nothing). */
    private readonly outputPath: string,
    /** Bytes of the remote output file already in the local one. */
    private received: number,
    deadline: number | null,
    /** The job's maxOutputBytes; the local file holds at most that and a marker line (output-cap.ts). */
    maxOutputBytes?: number,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    // After a restart the local file's size is what was kept: a cut file restarts as cut.
    this.cap = maxOutputBytes ? new OutputCap(maxOutputBytes, received) : null;
    if (deadline !== null) this.later(Math.max(0, deadline - Date.now()), () => void this.expire());
  }

  /**
   * Bytes already in the local output file (0 when there is none). Sync: a stat is served from the
   * inode cache, and the thread-pool hand-off of the async call cost more agent CPU per job.
   */
  static outputSize(path: string): number {
    try {
      return statSync(path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  private out: Promise<FileHandle> | null = null;
  private readonly cap: OutputCap | null;
  /** Set when the local disk refused a write: the rest of the output is dropped (and still counted as received). */
  private diskCut: string | null = null;
  /** Finished or detached: late bytes are dropped (a re-attach fetches them again from the file's size). */
  private outputClosed = false;

  private closeOutput(): void {
    this.outputClosed = true;
    void this.out?.then((h) => h.close()).catch(() => undefined);
    this.out = null;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  readonly append = async (chunk: Buffer): Promise<void> => {
    if (this.outputClosed) throw new Error(`the output of job ${this.id} is closed`);
    // Off the launch path: on ext4 a mkdir waits for the journal commit of the job store's fdatasync.
    const { keep, marker } = this.diskCut !== null ? { keep: chunk.subarray(0, 0), marker: null } : this.cap ? this.cap.take(chunk) : { keep: chunk, marker: null };
    if (keep.length > 0 || marker !== null) {
      this.out ??= mkdir(dirname(this.outputPath), { recursive: true, mode: 0o700 }).then(() => open(this.outputPath, 'a', 0o600));
      try {
        const out = await this.out;
        if (keep.length > 0) await out.write(keep);
        if (marker !== null) await out.write(marker);
      } catch (err) {
        // The handle goes either way (closed, not left to the garbage collector): the next append opens
        // the file again, so a failed open is retried too.
        const failed = this.out;
        this.out = null;
        void failed?.then((h) => h.close()).catch(() => undefined);
        const code = (err as NodeJS.ErrnoException).code;
        // Fetching it again would only fill the same full disk: the output is cut here, as the local
        // supervisor cuts it; anything else is retried from the last byte received.
        if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
        const kept = RemoteJob.outputSize(this.outputPath);
        this.diskCut = `output cut at ${kept} bytes: the local disk is full (${code})`;
        this.ctx.logger.warn('ssh job output cut: the local disk is full', { server: this.ctx.server, job: this.id, keptBytes: kept });
        await open(this.outputPath, 'a', 0o600).then(async (h) => {
          await h.write(outputCutMarker(kept, false, code)).catch(() => undefined);
          await h.close();
        }).catch(() => undefined);
      }
    }
    this.received += chunk.length;
  };

  private attach(): Promise<FollowStep> {
    const { tuning } = this.ctx;
    const args = [this.id, String(this.received), String(tuning.attachSlice), String(tuning.attachInterval)];
    return this.ctx.pool.exec(remoteCommand(this.ctx.user, ATTACH, 'outpost-attach', args), { onStdout: this.append }).then(stepOf);
  }

  /**
   * Follows until the job has ended and all its output is here. `first` is how the launch reports the end
   * (nothing after a restart). Connection failures are retried with backoff for as long as it takes: the
   * job runs on without us, and giving up would lose its result.
   */
  async follow(first?: Promise<FollowStep>): Promise<void> {
    let pending = first ?? this.attach();
    let delay = 250;
    while (!this.stopped) {
      let end: EndLine | null = null;
      try {
        const step = await pending;
        if (step === 'missing') {
          return this.finish({ exitCode: null, signal: null, reason: 'lost', message: `the remote job's files are gone from ${this.ctx.host}; its result cannot be known` });
        }
        end = step;
        delay = 250;
      } catch (err) {
        this.ctx.logger.warn('ssh job follow interrupted; re-attaching', { server: this.ctx.server, job: this.id, error: (err as Error).message });
        await new Promise((r) => this.later(delay, () => r(undefined)));
        delay = Math.min(delay * 2, 10_000);
      }
      if (end && end.state !== 'running' && (end.size === null || this.received >= end.size)) return this.finishWith(end);
      if (this.stopped) return;
      if (this.killOwed) {
        // A timeout, cancel or abort fell while the target was unreachable: deliver it before following.
        this.killOwed = false;
        await this.signal('KILL').catch(() => undefined);
      }
      pending = this.attach();
    }
  }

  private finishWith(end: EndLine): void {
    if (typeof end.state === 'number') {
      const rc = end.state;
      // A job we signalled reports 128+n; name the signal instead of the number.
      const bySignal = this.killedFor !== null && rc > 128 ? (SIGNAL_NAMES.get(rc - 128) ?? null) : null;
      this.finish({ exitCode: bySignal ? null : rc, signal: bySignal, reason: this.killedFor ?? 'exited' });
      return;
    }
    if (this.killedFor) {
      // No exit status: whatever records it died too (the wrapper's runner survives TERM and INT) — so
      // it was our KILL, whose answer may not even be back yet.
      this.finish({ exitCode: null, signal: 'SIGKILL', reason: this.killedFor });
      return;
    }
    this.finish({ exitCode: null, signal: null, reason: 'lost', message: `the remote job on ${this.ctx.host} ended without an exit status (killed on the target?)` });
  }

  private finish(info: Omit<ExitInfo, 'endedAt' | 'ranOn'>): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.closeOutput();
    this.ctx.finished(this.id, this.ctx.user);
    const truncated = this.diskCut !== null || this.cap?.cut === true;
    const message = [info.message, this.diskCut].filter(Boolean).join('; ');
    this.resolveDone({
      ...info,
      ...(message ? { message } : {}),
      ...(truncated ? { outputTruncated: true } : {}),
      endedAt: new Date().toISOString(),
      ranOn: { host: this.ctx.host, user: this.ctx.user.effective },
    });
  }

  /** Sends a signal to the job's group, session and descendants on the target; retried while the link is down. */
  private async signal(sig: 'TERM' | 'KILL'): Promise<void> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3 && !this.ended; attempt++) {
      try {
        const r = await this.ctx.pool.exec(remoteCommand(this.ctx.user, KILL, 'outpost-kill', [this.id, sig]));
        if (!/outpost-signalled/.test(r.stderr)) {
          throw agentError('AGENT_SSH_REMOTE_FAILED', `could not signal job ${this.id} on ${this.ctx.host}: ${r.stderr.trim().slice(0, 300)}`);
        }
        return;
      } catch (err) {
        lastErr = err;
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    if (!this.ended) {
      this.killOwed = true;
      throw lastErr;
    }
  }

  private async terminate(reason: 'cancel' | 'timeout', graceMs: number): Promise<void> {
    this.killedFor ??= reason;
    this.later(graceMs, () => {
      if (!this.ended) {
        this.signal('KILL').catch((err: Error) => this.owed(err));
      }
    });
    await this.signal('TERM');
  }

  private async expire(): Promise<void> {
    if (this.ended) return;
    this.ctx.logger.info('ssh job timed out', { server: this.ctx.server, job: this.id });
    await this.terminate('timeout', TIMEOUT_GRACE_MS).catch((err: Error) => this.owed(err));
  }

  /** The target could not be reached: the kill is owed and delivered as soon as it can be (see follow). */
  private owed(err: Error): void {
    this.ctx.logger.warn('ssh job signal not delivered yet; will kill when the target is reachable', { server: this.ctx.server, job: this.id, error: err.message });
  }

  /** Resolves once TERM is delivered, or owed when the target is unreachable (never rejects). */
  async cancel(graceMs: number): Promise<void> {
    if (!this.ended) await this.terminate('cancel', graceMs).catch((err: Error) => this.owed(err));
  }

  async abort(): Promise<void> {
    if (this.ended) return;
    this.killedFor = 'abort';
    await this.signal('KILL').catch((err: Error) => this.owed(err));
  }

  /** Stops following (executor closing); the remote job keeps running and is re-attached later. */
  detach(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.closeOutput();
  }
}
