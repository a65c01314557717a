/**
 * The fan-out engine as a library call: what `outpost job run` does, without the CLI. A scheduler written
 * in Node gives targets, a job and the connector credentials, gets per-host events while the run goes on,
 * and can stop it through AbortSignals. The CLI (run-command.ts) is a thin layer over this function.
 */
import { masterError } from './errors.js';
import { ClientPool } from './client.js';
import { loadCredentials, type CredentialOptions, type TlsCredentials } from './credentials.js';
import { FanOut, type FanOutEvents } from './fan-out.js';
import { exitStatus, type HostResult } from './summary.js';
import { mergeTargets, parseTargetSpec, type Target } from './targets.js';
import type { JobRequest } from './job-request.js';
import type { Strategy } from './candidates.js';

export interface RunJobsOptions {
  /** `https://host:8443`, `name https://a:8443,https://b:8443`, or `{ name, candidates }`. Names must be unique. */
  targets: readonly (string | Target)[];
  /** The job, as the agent's `POST /v1/jobs` body (exactly one of command, argv, script). */
  job: JobRequest;
  /** Connector certificate files (PEM or PKCS#12), or credentials already loaded with loadCredentials(). */
  credentials: CredentialOptions | TlsCredentials;
  /** Hosts in flight at once (default 16): connecting, running or streaming output. */
  concurrency?: number;
  /** TCP connect + TLS handshake limit per host, in ms (default 10,000). */
  connectTimeoutMs?: number;
  /** How long to wait for an agent's answer, in ms (default 30,000). */
  requestTimeoutMs?: number;
  /** Spread starts over this window; hosts not started in it are skipped. */
  timeSpanMs?: number;
  /** Stop submitting once this many hosts did not succeed; jobs already submitted run to their end. */
  maxFailures?: number;
  /** Among a target's candidates (default `first`). */
  strategy?: Strategy;
  /** Aborting it cancels the run: no new submissions, SIGTERM to every submitted job (then the agent's grace). */
  signal?: AbortSignal;
  /** Aborting it kills every submitted job's process group at once (SIGKILL) and stops new submissions. */
  killSignal?: AbortSignal;
  /** Per-host events, called as they happen. */
  events?: FanOutEvents;
  /**
   * Names the run in each submission's idempotency key (letters, digits, . _ -, up to 64); random by
   * default. Give the same runId to run the same job on the same targets again after the master itself
   * crashed mid-run: agents answer the jobs they already accepted instead of starting them twice.
   */
  runId?: string;
}

export interface RunJobsResult {
  /** One row per target, in target order. */
  hosts: HostResult[];
  ok: boolean;
  /** What `outpost job run` exits with for the same outcome. */
  exitStatus: number;
  interrupted: boolean;
  /** maxFailures was reached: hosts after it were skipped. */
  stoppedEarly: boolean;
}

const isLoaded = (c: CredentialOptions | TlsCredentials): c is TlsCredentials => 'secureContext' in c;

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw masterError('MASTER_USAGE', `${name} must be a positive number, got ${value}`);
  return value;
}

/** Runs one job on every target and resolves when every host is done (or skipped). */
export async function runJobs(options: RunJobsOptions): Promise<RunJobsResult> {
  const targets = mergeTargets([options.targets.map((t) => (typeof t === 'string' ? parseTargetSpec(t) : t))]);
  const concurrency = Math.floor(positive(options.concurrency, 'concurrency', 16));
  if (options.runId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(options.runId)) {
    throw masterError('MASTER_USAGE', 'runId must be 1-64 letters, digits, dots, underscores or hyphens');
  }
  const creds = isLoaded(options.credentials) ? options.credentials : await loadCredentials(options.credentials);
  const pool = new ClientPool(creds, {
    connections: 4,
    connectTimeoutMs: positive(options.connectTimeoutMs, 'connectTimeoutMs', 10_000),
    requestTimeoutMs: positive(options.requestTimeoutMs, 'requestTimeoutMs', 30_000),
  });
  const fan = new FanOut({
    targets,
    request: options.job,
    pool,
    concurrency,
    timeSpanMs: options.timeSpanMs,
    strategy: options.strategy ?? 'first',
    runId: options.runId,
    maxFailures: options.maxFailures !== undefined ? Math.floor(positive(options.maxFailures, 'maxFailures', 1)) : undefined,
    ...(options.events ? { events: options.events } : {}),
  });
  // Remote cancels are best effort: a job that cannot be reached still ends with its timeout.
  const cancel = (): void => {
    fan.cancelAll().catch(() => undefined);
  };
  const kill = (): void => {
    fan.abortAll().catch(() => undefined);
  };
  const listen = (signal: AbortSignal | undefined, fn: () => void): (() => void) => {
    if (!signal) return () => undefined;
    if (signal.aborted) {
      fn();
      return () => undefined;
    }
    signal.addEventListener('abort', fn, { once: true });
    return () => signal.removeEventListener('abort', fn);
  };
  const unlisten = [listen(options.signal, cancel), listen(options.killSignal, kill)];
  try {
    const hosts = await fan.run();
    const status = exitStatus(hosts, fan.interrupted);
    return { hosts, ok: status === 0, exitStatus: status, interrupted: fan.interrupted, stoppedEarly: fan.stoppedEarly };
  } finally {
    for (const off of unlisten) off();
    await pool.close();
  }
}
