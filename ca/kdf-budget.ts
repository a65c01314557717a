/**
 * The key-derivation work an imported file may ask of us. Iteration counts are chosen by whoever wrote the
 * file, and each one is CPU time spent before the password is even known to be right: a small file can
 * declare dozens of encrypted parts at millions of iterations each. The reader sums every count it can
 * see before deriving anything, refuses above the limit, and charges each derivation as it runs (so
 * parts found only after decrypting another are bounded too).
 */

/**
 * Iterations summed over a file's MAC and encrypted parts. OpenSSL 3 writes 2,048 per part and for the
 * MAC, Windows 2,000 to 10,000; our own exports run the KDF KDF_RUNS_PER_EXPORT times at up to
 * MAX_EXPORT_ITERATIONS each, which this limit admits.
 */
export const DEFAULT_MAX_ITERATIONS = 3_000_000;
/** What `ca export`/`export-root` derive keys for: the MAC, the certificate part and the key bag. */
export const KDF_RUNS_PER_EXPORT = 3;
/** The highest `--iterations` an export accepts: what it writes, an import with the default limit reads. */
export const MAX_EXPORT_ITERATIONS = Math.floor(DEFAULT_MAX_ITERATIONS / KDF_RUNS_PER_EXPORT);

export type KdfPurpose = 'mac' | 'part' | 'key';

export interface KdfRun {
  purpose: KdfPurpose;
  iterations: number;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** Refusal: the file asks for more work than the limit. */
export class KdfLimitError extends Error {
  constructor(
    readonly needed: number,
    readonly limit: number,
    detail: string,
  ) {
    super(`the file needs ${n(needed)} key-derivation iterations (${detail}), more than the limit of ${n(limit)}`);
  }
}

export class KdfBudget {
  #spent = 0;

  constructor(
    readonly limit: number = DEFAULT_MAX_ITERATIONS,
    /** Told of each derivation before it runs (tests count the work with it). */
    private readonly onRun?: (run: KdfRun) => void,
  ) {}

  get spent(): number {
    return this.#spent;
  }

  /** Refuses up front when the work a file declares is over the limit; `detail` says where it comes from. */
  plan(total: number, detail: string): void {
    if (!(total <= this.limit)) throw new KdfLimitError(total, this.limit, detail);
  }

  /**
   * Counts one derivation, or refuses it when the work done so far plus this one would pass the limit:
   * what the plan could not see (key bags inside an encrypted part) is bounded here.
   */
  charge(purpose: KdfPurpose, iterations: number): void {
    const after = this.#spent + iterations;
    if (!(after <= this.limit)) throw new KdfLimitError(after, this.limit, `with a ${purpose === 'key' ? 'key bag' : purpose} found inside an encrypted part`);
    this.#spent = after;
    this.onRun?.({ purpose, iterations });
  }
}

/** Iteration counts as an operator reads them: `10,000,000`. */
export const formatCount = n;
