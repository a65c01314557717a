/**
 * The agent's end of a remote launcher (launcher-source.ts): one long-lived channel per connection pool
 * and effective user that starts jobs from request lines and streams back their output and exit status.
 * A job outlives its launcher; when the channel closes, each running job is handed to ATTACH.
 */
import type { ClientChannel } from 'ssh2';
import type { Logger } from '../../../core/logger.js';
import { agentError } from '../../errors.js';
import type { SshPool } from './connection-pool.js';
import type { EndLine, FollowStep } from './job-plan.js';
import { FrameParser, type Frame } from './launcher-protocol.js';
import { LAUNCHER_ARGS } from './launcher-source.js';
import { remoteCommand, type RemoteUser } from './remote-scripts.js';

export interface LaunchTicket {
  /**
   * The job's pid once it runs. Rejects with AGENT_SSH_REMOTE_FAILED when the launcher refused
   * the job, or AGENT_SSH_HOST_UNREACHABLE (details.during = 'command') when it went away before
   * answering: the job may or may not have started (see PROBE).
   */
  readonly started: Promise<number>;
  /** The job's end once all its output was handed to the sink; null when it must be followed with ATTACH. */
  readonly ended: Promise<FollowStep>;
}

/** The launcher did not come up; `missing` when the target has no perl (use the per-job wrapper). */
export class LauncherStartError extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
  }
}

interface Job {
  started: boolean;
  writing: Promise<void>;
  /** A local write failed: the rest is fetched with ATTACH from the last byte written. */
  failed: boolean;
  readonly sink: (chunk: Buffer) => Promise<void>;
  readonly onStarted: (pid: number) => void;
  readonly onRefused: (err: Error) => void;
  readonly onEnded: (end: EndLine | null) => void;
}

/** Output being written locally beyond which the channel is paused (SSH flow control pushes back). */
const BACKLOG_BYTES = 8 * 1024 * 1024;
const START_TIMEOUT_MS = 30_000;

export class RemoteLauncher {
  private readonly jobs = new Map<string, Job>();
  private readonly parser = new FrameParser();
  private closed = false;
  /** Why the launcher's output stopped making sense; its channel is then closed and ignored. */
  private broken: string | null = null;
  private backlog = 0;
  private readonly closeListeners: (() => void)[] = [];

  private constructor(
    private readonly channel: ClientChannel,
    private readonly where: string,
    private readonly logger: Logger,
  ) {}

  /** Starts the launcher as `user` and waits until it is ready. */
  static async start(pool: SshPool, user: RemoteUser, where: string, logger: Logger, perl = 'perl'): Promise<RemoteLauncher> {
    const channel = await pool.session(remoteCommand(user, 'exec "$@"', 'outpost-launcher', [perl, ...LAUNCHER_ARGS]));
    const launcher = new RemoteLauncher(channel, where, logger);
    await launcher.listen();
    return launcher;
  }

  /** Wires the channel for the launcher's whole life; resolves once the launcher says it is ready. */
  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      let stderr = '';
      let code: number | null = null;
      let up = false;
      const timer = setTimeout(() => {
        reject(new LauncherStartError(`the launcher on ${this.where} did not answer in ${START_TIMEOUT_MS / 1000} s`, false));
        this.channel.close();
      }, START_TIMEOUT_MS);
      this.channel.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 4096) stderr += chunk.toString('utf8');
      });
      this.channel.on('exit', (c: number | null) => (code = c));
      this.channel.on('data', (chunk: Buffer) => {
        if (this.broken !== null) return;
        let frames: Frame[];
        try {
          frames = this.parser.push(chunk);
        } catch (err) {
          this.broken = (err as Error).message;
          this.logger.error('ssh launcher protocol error; closing it', { where: this.where, error: this.broken });
          // Answered now, not when the target acknowledges the close: a hostile one may never do so.
          clearTimeout(timer);
          this.closed = true;
          this.channel.close();
          if (!up) reject(new LauncherStartError(`the launcher on ${this.where} broke its protocol: ${this.broken}`, false));
          this.lost();
          return;
        }
        for (const frame of frames) {
          if (frame.type === 'ready') {
            up = true;
            clearTimeout(timer);
            resolve();
          } else this.dispatch(frame);
        }
      });
      this.channel.once('close', () => {
        clearTimeout(timer);
        if (this.broken !== null) return;
        this.closed = true;
        if (!up) {
          const first = stderr.trim().split('\n')[0] ?? '';
          // 127: the shell found no perl on the target's PATH.
          reject(new LauncherStartError(`the launcher on ${this.where} did not start (exit ${code}): ${first.slice(0, 200)}`, code === 127));
        }
        this.lost();
      });
    });
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  get usable(): boolean {
    return !this.closed;
  }

  launch(id: string, request: string, sink: (chunk: Buffer) => Promise<void>): LaunchTicket {
    if (this.closed) throw agentError('AGENT_SSH_HOST_UNREACHABLE', `the launcher on ${this.where} has gone`);
    let onStarted!: (pid: number) => void;
    let onRefused!: (err: Error) => void;
    let onEnded!: (end: EndLine | null) => void;
    const started = new Promise<number>((resolve, reject) => ((onStarted = resolve), (onRefused = reject)));
    const ended = new Promise<EndLine | null>((resolve) => (onEnded = resolve));
    this.jobs.set(id, { started: false, writing: Promise.resolve(), failed: false, sink, onStarted, onRefused, onEnded });
    this.channel.write(request);
    return { started, ended };
  }

  private dispatch(frame: Exclude<Frame, { type: 'ready' }>): void {
    const job = this.jobs.get(frame.id);
    if (!job) {
      if (frame.type === 'refused') this.logger.error('ssh launcher refused a request', { where: this.where, message: frame.message });
      return;
    }
    switch (frame.type) {
      case 'started':
        job.started = true;
        job.onStarted(frame.pid);
        return;
      case 'refused':
        this.jobs.delete(frame.id);
        job.onRefused(agentError('AGENT_SSH_REMOTE_FAILED', `the launcher on ${this.where} refused job ${frame.id}: ${frame.message}`));
        return;
      case 'output':
        this.write(job, frame.chunk);
        return;
      case 'ended':
        this.jobs.delete(frame.id);
        void job.writing.then(() => job.onEnded(job.failed ? null : { state: frame.state, size: frame.size }));
    }
  }

  private write(job: Job, chunk: Buffer): void {
    this.backlog += chunk.length;
    if (this.backlog > BACKLOG_BYTES) this.channel.pause();
    job.writing = job.writing
      .then(() => (job.failed ? undefined : job.sink(chunk)))
      .catch((err: Error) => {
        job.failed = true;
        this.logger.warn('ssh job output could not be written; will fetch it again', { where: this.where, error: err.message });
      })
      .finally(() => {
        this.backlog -= chunk.length;
        if (this.backlog <= BACKLOG_BYTES) this.channel.resume();
      });
  }

  /** The channel closed: unanswered launches may or may not have started; running jobs go to ATTACH. */
  private lost(): void {
    for (const [id, job] of this.jobs) {
      if (job.started) void job.writing.then(() => job.onEnded(null));
      else if (this.broken !== null) job.onRefused(agentError('AGENT_SSH_LAUNCHER_PROTOCOL', `the launcher on ${this.where} broke its protocol before it answered for job ${id} (${this.broken}); its channel was closed`));
      else job.onRefused(agentError('AGENT_SSH_HOST_UNREACHABLE', `the launcher on ${this.where} went away before it answered for job ${id}`, { details: { during: 'command' } }));
    }
    this.jobs.clear();
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  close(): void {
    this.channel.close();
  }
}
