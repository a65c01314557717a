/**
 * Errors with stable string codes. Each part declares its table once (code → status, meaning, action);
 * the table is the single source for the HTTP status, the CLI's one-line message and ERRORS.md.
 */

export interface ErrorSpec {
  /** HTTP status when the error crosses an API boundary (CLI-only errors use 400/500 as their class). */
  readonly status: number;
  /** What went wrong, for ERRORS.md. */
  readonly meaning: string;
  /** What the operator should do about it; printed under the CLI's error line. */
  readonly action: string;
}

export type ErrorTable = Readonly<Record<string, ErrorSpec>>;

export interface ErrorOptions {
  cause?: unknown;
  /** Structured facts safe to show a client (never secrets). */
  details?: Readonly<Record<string, unknown>>;
}

export class OutpostError extends Error {
  readonly code: string;
  readonly status: number;
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, spec: ErrorSpec, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutpostError';
    this.code = code;
    this.status = spec.status;
    this.action = spec.action;
    this.details = options.details;
  }

  /** The wire shape every HTTP API of Outpost answers errors with. */
  toJSON(): { error: { code: string; message: string; details?: Readonly<Record<string, unknown>> } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

const registry = new Map<string, { part: string; spec: ErrorSpec }>();

/** Every code declared so far, for ERRORS.md and its sync test. */
export function registeredErrors(): ReadonlyMap<string, { part: string; spec: ErrorSpec }> {
  return registry;
}

export interface ErrorFactory<T extends ErrorTable> {
  (code: keyof T & string, message: string, options?: ErrorOptions): OutpostError;
  readonly table: T;
  /** True when `err` is an OutpostError carrying `code` (or any of this part's codes when omitted). */
  is(err: unknown, code?: keyof T & string): err is OutpostError;
}

/**
 * Declares a part's error table. Codes carry the part's prefix (`CA_…`, `AGENT_…`) so they stay unique
 * across the product without a central list.
 */
export function defineErrors<const T extends ErrorTable>(part: string, table: T): ErrorFactory<T> {
  const prefix = `${part.toUpperCase()}_`;
  for (const [code, spec] of Object.entries(table)) {
    if (!code.startsWith(prefix)) throw new Error(`error code ${code} must start with ${prefix}`);
    if (registry.has(code) && registry.get(code)?.spec !== spec) throw new Error(`error code ${code} declared twice`);
    registry.set(code, { part, spec });
  }
  const make = (code: keyof T & string, message: string, options?: ErrorOptions): OutpostError => {
    const spec = table[code];
    if (!spec) throw new Error(`undeclared error code ${code}`);
    return new OutpostError(code, message, spec, options);
  };
  const is = (err: unknown, code?: keyof T & string): err is OutpostError =>
    err instanceof OutpostError && (code === undefined ? err.code in table : err.code === code);
  return Object.assign(make, { table, is });
}

export const coreError = defineErrors('core', {
  CORE_CONFIG_INVALID: {
    status: 500,
    meaning: 'A configuration file failed validation; every bad key is listed with its path.',
    action: 'Fix each key named in the message (unknown keys are rejected, not ignored) and start again.',
  },
  CORE_CONFIG_UNREADABLE: {
    status: 500,
    meaning: 'A configuration file could not be read or is not valid YAML.',
    action: 'Check the path, its permissions, and the YAML syntax at the line and column given.',
  },
  CORE_SECRET_UNAVAILABLE: {
    status: 400,
    meaning: 'A password or passphrase was needed but none was given, and no terminal is available to ask for one.',
    action: 'Pass --password-file FILE or set the environment variable named in the command\'s --help.',
  },
  CORE_LOCK_TIMEOUT: {
    status: 503,
    meaning: 'Another outpost command held a store\'s lock for too long.',
    action: 'Wait for the other command to finish; if none runs, remove the stale .lock file the message names.',
  },
  CORE_USAGE: {
    status: 400,
    meaning: 'A command was called with missing or conflicting options.',
    action: 'Run the command with --help and correct the options.',
  },
});
