/**
 * Agentless SSH process servers (Redwood's agentless process servers, Foreman's SSH provider): jobs with
 * `processServer: NAME` run on that host over SSH (ssh2, in-process), detached under a small remote
 * wrapper so a dropped connection or an agent restart does not kill them.
 */
import type { Executor, Execution, JobPaths, JobSpec, RuntimeInfo } from '../executor.js';
import type { Logger } from '../../../core/logger.js';
import type { OutpostError } from '../../../core/errors.js';
import { agentError } from '../../errors.js';
import { createHostKeyPolicy, type HostKeyPolicy } from './host-key.js';
import { SshPool } from './connection-pool.js';
import { checkUserName, resolveLogin } from './login.js';
import { checkJobId, planJob, type FollowStep, type JobPlan } from './job-plan.js';
import { LAUNCH, PROBE, launchInput, remoteCommand, type RemoteUser } from './remote-scripts.js';
import { CleanupQueue } from './cleanup-queue.js';
import { DEFAULT_TUNING, RemoteJob, stepOf, type FollowTuning } from './remote-job.js';
import { LauncherStartError, RemoteLauncher, type LaunchTicket } from './remote-launcher.js';
import { encodeRequest } from './launcher-protocol.js';

/** A credential resolved from the agent's credential store by its key. Never logged, never persisted. */
export interface ResolvedCredential {
  readonly key: string;
  readonly user: string;
  readonly password?: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
}

export interface CredentialResolver {
  /** Throws AGENT_CREDENTIAL_UNKNOWN for a key that is not in the store. */
  resolve(key: string): Promise<ResolvedCredential>;
}

/** One entry of `processServers:` in agent.yaml (docs/ssh.md). */
export interface ProcessServerConfig {
  readonly name: string;
  readonly remoteHostName: string;
  readonly port: number;
  readonly defaultRunAsUser?: string;
  readonly credentialKey?: string;
  /** Further keys a job may name as its credentialKey (checked by the agent, job-policy.ts). */
  readonly credentialKeys?: readonly string[];
  /** Users a job may name as runAs here (job-policy.ts); the agent's runAs.allowedUsers when absent. */
  readonly allowedUsers?: readonly string[];
  /** Keys a job may read through secretEnv (job-policy.ts). */
  readonly secretEnvKeys?: readonly string[];
  readonly hostKey?: string;
  readonly knownHostsFile?: string;
  readonly interpreterWhitelist: readonly string[];
  /** Exec channels per connection; keep at or below the target's sshd MaxSessions (default 10). */
  readonly maxSessions?: number;
  /** Connections per login to this target (default 8). */
  readonly maxConnections?: number;
}

export interface ProcessServerStatus {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly reachable: boolean | null;
  readonly lastConnectAt: string | null;
  readonly lastError: { code: string; message: string } | null;
}

export interface SshExecutorDeps {
  readonly credentials: CredentialResolver;
  readonly logger: Logger;
  /** The agent's data directory; the executor may keep state under `<dataDir>/ssh/`. */
  readonly dataDir: string;
  /** Follow timings; tests shorten them. */
  readonly tuning?: Partial<FollowTuning>;
  /**
   * The program that runs the remote launcher on targets ('perl' from the login PATH); null starts every
   * job with its own exec wrapper instead (tests use both).
   */
  readonly remotePerl?: string | null;
}

/**
 * Requests above this size (a big script, huge arguments) start with their own exec, which streams the
 * body on stdin, instead of blocking the shared launcher channel for other jobs' launches.
 */
const LAUNCHER_REQUEST_MAX = 256 * 1024;

export interface SshExecutor extends Executor {
  status(): ProcessServerStatus;
}

class SshProcessServer implements SshExecutor {
  readonly name: string;
  private readonly hostKeys: HostKeyPolicy;
  private readonly pools = new Map<string, SshPool>();
  /** Per pool and effective user; null once the target turned out to have no perl. */
  private readonly launchers = new Map<string, Promise<RemoteLauncher | null>>();
  private readonly jobs = new Set<RemoteJob>();
  private readonly tuning: FollowTuning;
  private readonly cleanup: CleanupQueue;
  private state: { reachable: boolean | null; lastConnectAt: string | null; lastError: { code: string; message: string } | null } = {
    reachable: null,
    lastConnectAt: null,
    lastError: null,
  };

  constructor(
    private readonly server: ProcessServerConfig,
    private readonly deps: SshExecutorDeps,
  ) {
    this.name = `ssh:${server.name}`;
    // Throws when the entry pins no host key: an executor that could skip verification cannot exist.
    this.hostKeys = createHostKeyPolicy(server);
    if (server.defaultRunAsUser) checkUserName(server.defaultRunAsUser, `process server ${server.name} defaultRunAsUser`);
    this.tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    this.cleanup = new CleanupQueue(server.name, deps.logger);
  }

  status(): ProcessServerStatus {
    return { name: this.server.name, host: this.server.remoteHostName, port: this.server.port, ...this.state };
  }

  /** One pool per login: the job's credentialKey, else the server's, else the agent user's own key. */
  private pool(credentialKey: string | undefined): SshPool {
    const key = credentialKey ?? '';
    let pool = this.pools.get(key);
    if (!pool) {
      const { server, deps } = this;
      pool = new SshPool({
        name: server.name,
        host: server.remoteHostName,
        port: server.port,
        hostKeys: this.hostKeys,
        login: () => resolveLogin(server.name, deps.credentials, credentialKey),
        maxSessions: server.maxSessions ?? 10,
        maxConnections: server.maxConnections ?? 8,
        logger: deps.logger,
        onConnect: () => {
          this.state = { reachable: true, lastConnectAt: new Date().toISOString(), lastError: null };
        },
        onError: (err) => {
          this.state = { ...this.state, reachable: false, lastError: { code: err.code, message: err.message } };
          deps.logger.warn('ssh connection failed', { server: server.name, code: err.code, error: err.message });
        },
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  private async users(job: JobSpec): Promise<{ user: RemoteUser; credentialKey: string | undefined }> {
    const credentialKey = job.credentialKey ?? this.server.credentialKey;
    // Resolving first makes an unknown credential key fail before any connection is tried.
    const login = await resolveLogin(this.server.name, this.deps.credentials, credentialKey);
    const runAs = job.runAs ?? this.server.defaultRunAsUser ?? login.username;
    return { user: { login: login.username, effective: checkUserName(runAs, 'runAs') }, credentialKey };
  }

  /**
   * Adds the login shell when the job runs as the login user (remoteCommand can then skip a shell). A probe
   * that fails is no error here: the launch that follows reports the connection problem itself.
   */
  private async withLoginShell(pool: SshPool, user: RemoteUser): Promise<RemoteUser> {
    if (user.effective !== user.login) return user;
    const loginShell = await pool.loginShell().catch(() => undefined);
    return loginShell === undefined ? user : { ...user, loginShell };
  }

  private context(pool: SshPool, user: RemoteUser) {
    return {
      server: this.server.name,
      host: this.server.remoteHostName,
      pool,
      user,
      logger: this.deps.logger,
      tuning: this.tuning,
      finished: (id: string, u: RemoteUser) => this.cleanup.add(pool, id, u),
    };
  }

  /** A job starting now (or just found on the target): its runtime record, output from the file's end. */
  private newRemoteJob(job: JobSpec, paths: JobPaths, pool: SshPool, user: RemoteUser, credentialKey: string | undefined, remotePid: number | null) {
    const startedAtMs = Date.now();
    const runtime: Record<string, string | number | null> = {
      executor: 'ssh',
      processServer: this.server.name,
      host: this.server.remoteHostName,
      port: this.server.port,
      loginUser: user.login,
      runAs: user.effective,
      credentialKey: credentialKey ?? null,
      remotePid,
      outputBase: RemoteJob.outputSize(paths.output),
      startedAtMs,
    };
    const deadline = job.timeoutSeconds ? startedAtMs + job.timeoutSeconds * 1000 : null;
    return { runtime, remoteJob: new RemoteJob(this.context(pool, user), job.id, runtime, paths.output, 0, deadline, job.maxOutputBytes) };
  }

  async start(job: JobSpec, paths: JobPaths): Promise<Execution> {
    const plan = planJob(job, this.server.interpreterWhitelist, this.server.name);
    const { user: named, credentialKey } = await this.users(job);
    const pool = this.pool(credentialKey);
    const user = await this.withLoginShell(pool, named);
    const { runtime, remoteJob } = this.newRemoteJob(job, paths, pool, user, credentialKey, null);
    const request = encodeRequest(job.id, plan);
    const launcher = request.length <= LAUNCHER_REQUEST_MAX ? await this.launcher(credentialKey, pool, user) : null;
    const launch = launcher ? launcher.launch(job.id, request, remoteJob.append) : this.execLaunch(pool, user, job.id, plan, remoteJob);
    try {
      runtime.remotePid = await launch.started;
    } catch (err) {
      // The connection died after the launch was sent: the job may be running; find out before answering.
      const pid = agentError.is(err, 'AGENT_SSH_HOST_UNREACHABLE') && err.details?.during === 'command' ? await this.probe(pool, user, job.id) : null;
      if (pid === null) {
        remoteJob.detach();
        throw err;
      }
      runtime.remotePid = pid;
      this.track(remoteJob);
      this.deps.logger.info('ssh job started (found after a dropped launch connection)', { server: this.server.name, job: job.id, pid });
      return remoteJob;
    }
    this.track(remoteJob, launch.ended);
    this.deps.logger.info('ssh job started', { server: this.server.name, job: job.id, login: user.login, runAs: user.effective, pid: runtime.remotePid, launcher: launcher !== null });
    return remoteJob;
  }

  /**
   * The launcher for this login and effective user, started on first use; null when jobs must start with
   * their own exec: the target has no perl (remembered), or the launcher failed to come up this time (the
   * exec wrapper then reports the cause — sudo refusal, unwritable home — with its own error code).
   */
  private async launcher(credentialKey: string | undefined, pool: SshPool, user: RemoteUser): Promise<RemoteLauncher | null> {
    const first = await this.sharedLauncher(credentialKey, pool, user);
    // Its channel closed while we waited (the map no longer has it): the next call starts a new one.
    if (first === null || first.usable) return first;
    const second = await this.sharedLauncher(credentialKey, pool, user);
    return second?.usable ? second : null;
  }

  private sharedLauncher(credentialKey: string | undefined, pool: SshPool, user: RemoteUser): Promise<RemoteLauncher | null> {
    const perl = this.deps.remotePerl === undefined ? 'perl' : this.deps.remotePerl;
    if (perl === null) return Promise.resolve(null);
    const key = `${credentialKey ?? ''}\0${user.effective}`;
    let launcher = this.launchers.get(key);
    if (!launcher) {
      launcher = RemoteLauncher.start(pool, user, `${this.server.remoteHostName} as ${user.effective}`, this.deps.logger, perl).then(
        (l) => {
          l.onClose(() => this.forget(key, launcher));
          return l;
        },
        (err: Error) => {
          this.forget(key, launcher);
          // The connection itself failed (unreachable, host key, login): that is the job's answer.
          if (!(err instanceof LauncherStartError)) throw err;
          // No perl: remembered for this pool's lifetime. Anything else: the exec wrapper reports it.
          if (err.missing) this.launchers.set(key, Promise.resolve(null));
          const message = err.missing ? 'no perl on the target: every job starts with its own exec (slower)' : 'ssh launcher unavailable; starting the job with its own exec';
          this.deps.logger[err.missing ? 'warn' : 'info'](message, { server: this.server.name, runAs: user.effective, error: err.message });
          return null;
        },
      );
      this.launchers.set(key, launcher);
    }
    return launcher;
  }

  private forget(key: string, launcher: Promise<RemoteLauncher | null> | undefined): void {
    if (this.launchers.get(key) === launcher) this.launchers.delete(key);
  }

  /** The per-job wrapper (remote-scripts.ts LAUNCH): one exec that streams the first launchSlice seconds. */
  private execLaunch(pool: SshPool, user: RemoteUser, id: string, plan: JobPlan, remoteJob: RemoteJob): LaunchTicket {
    let started: ((pid: number) => void) | undefined;
    const launched = new Promise<number>((resolve) => (started = resolve));
    const input = launchInput(plan);
    const launch = pool.exec(remoteCommand(user, LAUNCH, 'outpost-launch', [id, ...input.args]), {
      maxMs: this.tuning.launchSlice * 1000,
      stdin: input.stdin,
      onStdout: remoteJob.append,
      onStderr: (text) => {
        const m = /^outpost-started (\d+)$/m.exec(text);
        if (m) started?.(Number(m[1]));
      },
    });
    const ended = launch.then(stepOf);
    // Awaited only once the job started; a failed launch is reported through `started`.
    ended.catch(() => undefined);
    return {
      ended,
      started: Promise.race([launched, launch]).then((first) => {
        if (typeof first !== 'number') throw this.launchFailure(first.stderr, first.code, user);
        return first;
      }),
    };
  }

  /** The remote pid of a job whose launch connection died, or null when it did not start (or cannot be told). */
  private async probe(pool: SshPool, user: RemoteUser, id: string): Promise<number | null> {
    const found = await this.probeOutcome(pool, user, id);
    return typeof found === 'number' ? found : null;
  }

  /** Asks the target (PROBE) whether the job has a pid file: its pid, `not-started`, or `unknown` when unreachable. */
  private async probeOutcome(pool: SshPool, user: RemoteUser, id: string): Promise<number | 'not-started' | 'unknown'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await pool.exec(remoteCommand(user, PROBE, 'outpost-probe', [id]));
        const m = /^outpost-started (\d+)$/m.exec(r.stderr);
        if (m) return Number(m[1]);
        if (/^outpost-not-started$/m.test(r.stderr)) return 'not-started';
      } catch {
        /* the target is down or the session dropped: asked again below */
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
    this.deps.logger.error('ssh launch outcome unknown: the job may be running unattended on the target', { server: this.server.name, job: id });
    return 'unknown';
  }

  private launchFailure(stderr: string, code: number | null, user: RemoteUser): OutpostError {
    if (user.effective !== user.login && !/^outpost-/m.test(stderr)) {
      const why = /password is required/.test(stderr) ? 'it asks for a password' : /not allowed|not in the sudoers/.test(stderr) ? 'the login user may not run commands as that user' : (stderr.split('\n')[0] ?? '').slice(0, 120);
      return agentError('AGENT_SSH_SUDO_REFUSED', `sudo on ${this.server.remoteHostName} refused to run the job as ${user.effective} for ${user.login}: ${why}`);
    }
    const line = /^outpost-error (.*)$/m.exec(stderr)?.[1] ?? stderr.trim().split('\n')[0] ?? '';
    return agentError('AGENT_SSH_REMOTE_FAILED', `the remote wrapper on ${this.server.remoteHostName} failed (exit ${code}): ${line.slice(0, 300)}`);
  }

  private track(job: RemoteJob, first?: Promise<FollowStep>): void {
    this.jobs.add(job);
    void job.follow(first).catch((err: Error) => this.deps.logger.error('ssh job follow failed', { job: job.id, error: err.message }));
    void job.done.then(() => this.jobs.delete(job));
  }

  async reattach(job: JobSpec, runtime: RuntimeInfo, paths: JobPaths): Promise<Execution | { lost: string } | { notStarted: string }> {
    checkJobId(job.id);
    if (runtime.executor === undefined && Object.keys(runtime).length === 0) return this.findUnrecorded(job, paths);
    if (runtime.executor !== 'ssh' || runtime.processServer !== this.server.name) {
      return { lost: `job ${job.id} was not started by process server ${this.server.name}` };
    }
    if (typeof runtime.loginUser !== 'string' || typeof runtime.runAs !== 'string' || typeof runtime.outputBase !== 'number') {
      return { lost: `job ${job.id} has an incomplete SSH runtime record` };
    }
    const user: RemoteUser = { login: runtime.loginUser, effective: checkUserName(runtime.runAs, 'runAs') };
    const credentialKey = typeof runtime.credentialKey === 'string' ? runtime.credentialKey : undefined;
    const pool = this.pool(credentialKey);
    const size = RemoteJob.outputSize(paths.output);
    const startedAtMs = typeof runtime.startedAtMs === 'number' ? runtime.startedAtMs : Date.now();
    const deadline = job.timeoutSeconds ? startedAtMs + job.timeoutSeconds * 1000 : null;
    const remoteJob = new RemoteJob(this.context(pool, user), job.id, runtime, paths.output, Math.max(0, size - runtime.outputBase), deadline, job.maxOutputBytes);
    this.track(remoteJob);
    this.deps.logger.info('ssh job re-attached', { server: this.server.name, job: job.id, offset: size - runtime.outputBase });
    return remoteJob;
  }

  /**
   * A job whose start was recorded (dispatch mark) but not its launch (the agent died during the launch round
   * trip): the target is asked whether it has the job. Its launch connection died with the agent, so a
   * request the launcher had not read by now will never be read: no pid file means it never started.
   */
  private async findUnrecorded(job: JobSpec, paths: JobPaths): Promise<Execution | { lost: string } | { notStarted: string }> {
    let named: RemoteUser;
    let credentialKey: string | undefined;
    try {
      ({ user: named, credentialKey } = await this.users(job));
    } catch (err) {
      return { lost: `job ${job.id} was being launched when the agent stopped, and its login cannot be resolved to ask the target: ${(err as Error).message}` };
    }
    const pool = this.pool(credentialKey);
    const user = await this.withLoginShell(pool, named);
    const found = await this.probeOutcome(pool, user, job.id);
    if (found === 'not-started') return { notStarted: `process server ${this.server.name} has no trace of it: the agent stopped before the launch reached the target` };
    if (found === 'unknown') return { lost: `job ${job.id} was being launched when the agent stopped, and ${this.server.remoteHostName} could not be asked whether it started` };
    const { remoteJob } = this.newRemoteJob(job, paths, pool, user, credentialKey, found);
    this.track(remoteJob);
    this.deps.logger.info('ssh job found on the target after the agent stopped during its launch', { server: this.server.name, job: job.id, pid: found });
    return remoteJob;
  }

  async close(): Promise<void> {
    await this.cleanup.flush();
    for (const job of this.jobs) job.detach();
    for (const launcher of this.launchers.values()) void launcher.then((l) => l?.close());
    this.launchers.clear();
    this.jobs.clear();
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}

export function createSshExecutor(server: ProcessServerConfig, deps: SshExecutorDeps): SshExecutor {
  return new SshProcessServer(server, deps);
}
