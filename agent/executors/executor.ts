/**
 * The seam between the agent and the places a job can run: this host (executors/local) or another host
 * over SSH (executors/ssh). The job store and the HTTP API only ever talk to this interface.
 *
 * Contract, whatever the executor:
 *  - `start` resolves once the job is launched *detached* (it survives the agent's death) and returns the
 *    facts needed to find it again (`runtime`), which the agent persists before answering the client.
 *  - Output is appended to `paths.output` (the agent serves and follows that file); it is never truncated,
 *    but it stops at the job's `maxOutputBytes`, after which one marker line is appended (outputCutMarker).
 *  - `reattach` finds a job again after an agent restart from its persisted `runtime`, says it never
 *    started (`notStarted`: the agent queues it again) when that is certain, or says it is lost only when
 *    its fate truly cannot be known.
 *  - `Execution.done` resolves when the job has ended *and* its output is complete on disk.
 *
 * This file is shared by the local and the SSH executor; the agent owns it and may evolve it.
 */

export type JobKind = 'command' | 'argv' | 'script';

/** What to run, as validated from `POST /v1/jobs` (no secrets: credentials are resolved by key). */
export interface JobSpec {
  readonly id: string;
  readonly kind: JobKind;
  /** kind=command: a command line for `/bin/sh -c` (or `interpreter`). */
  readonly command?: string;
  /** kind=argv: executed directly, no shell. */
  readonly argv?: readonly string[];
  /** kind=script: text run by `interpreter`, `args` as positional parameters. */
  readonly script?: string;
  readonly interpreter?: string;
  readonly args?: readonly string[];
  /** Plain environment values: kept in the journal (a queued job needs them after a restart), never shown by the API. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * NAME → credential key: the agent resolves the values when the job starts and hands them to the executor
   * merged into `env`; the record and journal keep only the keys.
   */
  readonly secretEnv?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly runAs?: string;
  /** Load the run-as user's login profile (Redwood's and JS7's "load user profile"). */
  readonly loginProfile?: boolean;
  readonly timeoutSeconds?: number;
  /**
   * Bytes of output kept: beyond them the executor stops writing the output file, appends one marker line
   * and reports `outputTruncated`; the job runs on. As recorded, only what the client asked for; the
   * executor gets the value in force (the agent's maxOutputBytes when the client gave none).
   */
  readonly maxOutputBytes?: number;
  readonly credentialKey?: string;
  readonly processServer?: string;
}

/** Files of one job under the agent's data directory. */
export interface JobPaths {
  /** Created by the executor when it needs it (the SSH executor only once the job prints something). */
  readonly dir: string;
  /** Combined stdout+stderr, appended to as the job runs. */
  readonly output: string;
}

/** Executor-specific facts persisted in the job record so the job can be found again after a restart. */
export type RuntimeInfo = Readonly<Record<string, string | number | boolean | null>>;

export type EndReason = 'exited' | 'timeout' | 'cancel' | 'abort' | 'lost';

export interface ExitInfo {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: EndReason;
  /** ISO time the job ended. */
  readonly endedAt: string;
  /** Set when reason is 'lost' or the job could not be started: why. */
  readonly message?: string;
  /** Processes of the job still alive after it was cancelled, aborted or timed out (the message names
   * them too): the executor could not end them. */
  readonly survivors?: readonly { readonly pid: number; readonly user: string }[];
  /** The output was cut (maxOutputBytes reached, or the disk refused a write): the file ends with a marker line. */
  readonly outputTruncated?: boolean;
  /** For SSH jobs: which host and user ran it (the job record shows it). */
  readonly ranOn?: { host: string; user: string };
}

export interface Execution {
  readonly runtime: RuntimeInfo;
  readonly done: Promise<ExitInfo>;
  /** SIGTERM the whole tree, SIGKILL after `graceMs`. */
  cancel(graceMs: number): Promise<void>;
  /** SIGKILL the whole tree at once. */
  abort(): Promise<void>;
}

export interface Executor {
  /** 'local' or `ssh:<processServer>`. */
  readonly name: string;
  start(job: JobSpec, paths: JobPaths): Promise<Execution>;
  reattach(job: JobSpec, runtime: RuntimeInfo, paths: JobPaths): Promise<Execution | { lost: string } | { notStarted: string }>;
  /** Releases connections and timers; running jobs keep running. */
  close(): Promise<void>;
}
