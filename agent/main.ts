/**
 * Wiring: config → store, executors, runner → HTTP API → listener. `startAgent` returns a handle whose
 * `close()` stops accepting and leaves running jobs to their supervisors (they are re-adopted next start).
 */
import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { API_VERSION } from '../core/api-version.js';
import { ensureDir } from '../core/fs-atomic.js';
import type { LazyLogger } from '../core/lazy-logger.js';
import type { Logger } from '../core/logger.js';
import type { AgentConfig } from './config.js';
import { credentialsPath } from './credentials-path.js';
import { CredentialStore } from './credentials.js';
import { agentError } from './errors.js';
import type { JobSpec } from './executors/executor.js';
import { checkJobIsolation } from './job-isolation.js';
import { checkCredentialStore, checkDataDir } from './state-permissions.js';
import { createLocalExecutor } from './executors/local/index.js';
import type { ProcessServerConfig, ProcessServerStatus, SshExecutor } from './executors/ssh/index.js';
import { listView, publicView } from './job-record.js';
import { JobRunner, type ExecutorSlot } from './job-runner.js';
import { JobStore } from './job-store.js';
import { listen, readSecretFile } from './listen.js';
import { createMetrics } from './metrics.js';
import { readDisk } from './disk-space.js';
import { createQuietCollector } from '../core/quiet-gc.js';
import { isSameProcess, processStartTime } from './proc.js';
import { createApi } from './server.js';
import { createStatusPage, type StatusPageJob } from './status-page.js';

export interface AgentHandle {
  readonly address: string;
  readonly runner: JobRunner;
  close(): Promise<void>;
  /** SIGHUP: apply a re-read config (limits, whitelist, run-as, retention, log level) and re-read the
   * shared secret (rotation). Listen address, dataDir, perl and processServers need a restart. */
  reload(next?: Readonly<AgentConfig>): Promise<void>;
}

export interface StartOptions {
  /** Lazy (core/lazy-logger.ts): winston is loaded with the first line that passes the level. */
  readonly logger: LazyLogger;
  readonly version: string;
}

/**
 * node:http through require, not import: on Node 22+ an ESM import of a built-in builds its whole
 * namespace, which evaluates http's lazy WebSocket/MessageEvent getters and loads Node's bundled undici
 * (+14 MiB resident on Node 24; require leaves them unevaluated).
 */
const { createServer } = createRequire(import.meta.url)('node:http') as typeof Http;

interface DataDirLock {
  readonly path: string;
  /** Puts back what was there before (a stale lock or none), for a start refused after locking. */
  undo(): Promise<void>;
}

async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, 'agent.lock');
  const held = await readFile(path, 'utf8').catch(() => undefined);
  const [pid, start] = (held ?? '').trim().split(' ');
  if (pid && start && Number(pid) !== process.pid && isSameProcess(Number(pid), start)) {
    throw agentError('AGENT_DATA_DIR_LOCKED', `${dataDir} is in use by the agent with pid ${pid}`);
  }
  await writeFile(path, `${process.pid} ${processStartTime(process.pid) ?? ''}\n`, { mode: 0o600 });
  return {
    path,
    undo: () => (held === undefined ? unlink(path) : writeFile(path, held, { mode: 0o600 })).catch(() => undefined),
  };
}

/**
 * This boot of the host. Unreadable (not Linux /proc): a value of this start only, so every restart looks
 * like a host restart and a recorded start is never repeated (job-runner.ts, recover).
 */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return `unknown-${process.pid}-${Date.now()}`;
  }
}

function baseEnv(): Record<string, string> {
  const me = userInfo();
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: me.homedir,
    USER: me.username,
    LOGNAME: me.username,
    LANG: process.env.LANG ?? 'C.UTF-8',
  };
}

/** Says at start and on every reload whether clients are limited, so an operator never has to guess. */
function logPermissionsMode(config: Readonly<AgentConfig>, logger: LazyLogger): void {
  if (config.permissions === undefined) {
    logger.info('no permissions: section in agent.yaml: every client the gateway lets POST may run any job agent.yaml allows and cancel any job', { templates: config.templates.length });
  } else {
    logger.info('permissions in force', { rules: config.permissions.map((r) => r.name), templates: config.templates.length });
  }
}

/** Keys a SIGHUP cannot change: they need a restart. */
const RESTART_KEYS = ['listen', 'dataDir', 'perl', 'launcherSocket', 'processServers', 'credentialsFile'] as const;

export async function startAgent(config: Readonly<AgentConfig>, options: StartOptions): Promise<AgentHandle> {
  const { logger } = options;
  // Reloadable settings are read through `current` at use, so a SIGHUP takes effect for the next job.
  let current = config;
  const started = Date.now();
  // Everything that can fail without side effects comes first, so a bad start leaves nothing running.
  let secret = 'secretFile' in config.listen ? await readSecretFile(config.listen.secretFile) : undefined;
  await ensureDir(config.dataDir, 0o700);
  await checkDataDir(config.dataDir);
  await checkCredentialStore(credentialsPath(config), dirname(credentialsPath(config)) !== config.dataDir);
  const isolationWarning = await checkJobIsolation(config);
  if (isolationWarning) logger.warn(isolationWarning, { jobIsolation: config.jobIsolation });
  await ensureDir(join(config.dataDir, 'jobs'), 0o700);
  const lock = await lockDataDir(config.dataDir);
  const lockPath = lock.path;
  let store: JobStore;
  try {
    store = await JobStore.open(config.dataDir, { idempotencyWindowMs: config.idempotencyKeyHours * 3_600_000 });
  } catch (err) {
    // A journal this agent cannot read (a newer format, corruption) leaves dataDir as it found it.
    await lock.undo();
    throw err;
  }
  const credentials = new CredentialStore(credentialsPath(config));
  const invocationOptions = {
    get interpreterWhitelist() {
      return current.interpreterWhitelist;
    },
    get localInterpreter() {
      return current.localInterpreter;
    },
    get runAsMethod() {
      return current.runAs.method;
    },
    get jobIsolation() {
      return current.jobIsolation;
    },
    agentUser: userInfo().username,
    perl: config.perl,
    baseEnv: baseEnv(),
  };
  let launcherError: Error | null = null;
  const local = createLocalExecutor({
    ...invocationOptions,
    get graceSeconds() {
      return current.cancelGraceSeconds;
    },
    ...(config.launcherSocket !== undefined ? { launcherSocket: config.launcherSocket } : {}),
    onLauncherCrash: (err) => {
      launcherError = err;
      logger.error('job launcher stopped; restarting it (running jobs are watched by pid meanwhile)', { error: err.message });
    },
  });

  const processServers = new Map<string, ExecutorSlot>();
  const sshExecutors: SshExecutor[] = [];
  // ssh2 and its crypto cost ~10 MiB of resident memory: load them only for agents that have targets.
  const ssh = config.processServers.length > 0 ? await import('./executors/ssh/index.js') : undefined;
  for (const server of config.processServers) {
    try {
      // The SSH executor logs through the same four methods a winston Logger has; LazyLogger provides them.
      const executor = ssh!.createSshExecutor(server as ProcessServerConfig, { credentials, logger: logger as unknown as Logger, dataDir: config.dataDir });
      sshExecutors.push(executor);
      processServers.set(server.name, { executor });
    } catch (err) {
      const reason = (err as Error).message;
      logger.warn('process server unavailable', { processServer: server.name, error: reason });
      processServers.set(server.name, { unavailable: reason });
    }
  }

  async function precheckLocal(spec: JobSpec): Promise<void> {
    if (local.launcherPid === undefined) {
      throw agentError('AGENT_LAUNCHER_UNAVAILABLE', `the job launcher is not running${launcherError ? `: ${launcherError.message}` : ''}`);
    }
    await local.precheck(spec);
  }

  const runner = new JobRunner({
    get config() {
      return current;
    },
    store,
    local,
    processServers,
    logger,
    precheckLocal,
    credentialExists: (key) => credentials.has(key),
    secretValue: (key) => credentials.secretValue(key),
    agentUser: invocationOptions.agentUser,
    bootId: bootId(),
    disk: () => readDisk(config.dataDir, current.minFreeBytes),
  });
  let recovered;
  try {
    recovered = await runner.recover();
  } catch (err) {
    await local.close();
    await store.close();
    throw err;
  }
  logger.info('jobs recovered', recovered);
  const removed = await runner.applyRetention();
  if (removed) logger.info('retention removed jobs', { removed });
  const retentionTimer = setInterval(() => {
    runner.applyRetention().then(
      (n) => n && logger.info('retention removed jobs', { removed: n }),
      (err: Error) => logger.error('retention failed', { error: err.message }),
    );
  }, 3_600_000);
  retentionTimer.unref();

  const status = (): Record<string, unknown> => ({
    version: options.version,
    apiVersion: API_VERSION,
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    jobs: { running: runner.runningCount, queued: runner.queuedCount, total: store.jobs.size },
    capacity: { maxConcurrentJobs: current.maxConcurrentJobs, queueLimit: current.queueLimit },
    launcher: { running: local.launcherPid !== undefined, pid: local.launcherPid ?? null, lastError: launcherError?.message ?? null },
    disk: readDisk(config.dataDir, current.minFreeBytes),
    store: { lastError: store.lastError },
    processServers: config.processServers.map((s): ProcessServerStatus | Record<string, unknown> => {
      const slot = processServers.get(s.name);
      const executor = slot?.executor as SshExecutor | undefined;
      if (executor && typeof executor.status === 'function') {
        try {
          return executor.status();
        } catch (err) {
          return { name: s.name, host: s.remoteHostName, port: s.port, reachable: null, lastConnectAt: null, lastError: { code: 'AGENT_INTERNAL', message: (err as Error).message } };
        }
      }
      return { name: s.name, host: s.remoteHostName, port: s.port, reachable: null, lastConnectAt: null, lastError: { code: 'AGENT_PROCESS_SERVER_UNAVAILABLE', message: slot?.unavailable ?? 'not initialised' } };
    }),
  });
  const metrics = createMetrics(runner, () => readDisk(config.dataDir, current.minFreeBytes));
  // Memory comes back once the agent goes quiet after a burst of jobs (core/quiet-gc.ts).
  const quiet = createQuietCollector();
  runner.on('change', () => quiet.activity());
  const statusPage = createStatusPage({
    status,
    jobs: (limit) => runner.list({ limit }).map((j) => listView(j) as unknown as StatusPageJob),
    job: (id) => {
      const j = store.record(id);
      return j ? (publicView(j) as unknown as StatusPageJob) : undefined;
    },
    outputPath: (id) => runner.paths(id).output,
    secrets: (id) => runner.secretValues(id),
  });
  const api = createApi({ runner, metrics, logger, get secret() { return secret; }, status, statusPage, access: () => current });
  const server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000, maxHeaderSize: 16 * 1024 }, api);
  server.keepAliveTimeout = 30_000;
  let address: string;
  try {
    address = await listen(server, config.listen);
  } catch (err) {
    clearInterval(retentionTimer);
    await local.close();
    await store.close();
    throw err;
  }
  logPermissionsMode(config, logger);
  logger.info('agent listening', { address, dataDir: config.dataDir, pid: process.pid, launcherPid: local.launcherPid });

  let closed = false;
  return {
    address,
    runner,
    async reload(next?: Readonly<AgentConfig>) {
      if (next) {
        const fixed = RESTART_KEYS.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(config[k]));
        if (fixed.length) logger.warn('reload: these keys change only with a restart', { keys: fixed });
        // A reload may not open what the start-up check would have refused: the running config stays.
        const isolationWarning = await checkJobIsolation({ ...next, listen: config.listen });
        if (isolationWarning) logger.warn(isolationWarning, { jobIsolation: next.jobIsolation });
        current = { ...next, listen: config.listen, dataDir: config.dataDir, perl: config.perl, processServers: config.processServers, credentialsFile: config.credentialsFile };
        logger.level = current.logLevel;
        logPermissionsMode(current, logger);
      }
      if ('secretFile' in config.listen) secret = await readSecretFile(config.listen.secretFile);
      logger.info('reloaded', { config: next ? 'reread' : 'unchanged', secret: secret === undefined ? 'n/a' : 'reread' });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(retentionTimer);
      quiet.close();
      await runner.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const e of sshExecutors) await e.close().catch(() => undefined);
      await local.close();
      await store.close();
      if ('socket' in config.listen) await unlink(config.listen.socket).catch(() => undefined);
      await unlink(lockPath).catch(() => undefined);
      logger.info('agent stopped; running jobs continue under their supervisors');
    },
  };
}
