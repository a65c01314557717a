/**
 * Gives memory back once a daemon has gone quiet after a burst: the agent after a burst of jobs, the
 * gateway after a burst of requests. Told from the agent's side: V8 collects the old generation
 * only when it has grown past a limit, and Node runs no idle-time collection, so garbage from a burst of
 * thousands of jobs (requests, journal lines, per-job promises) otherwise stays resident until the next
 * burst. Two seconds after the last job event, if at least a hundred events came since the last time, the
 * agent asks V8 for one full, compacting collection (~20–90 ms on the agent's small heap), whose freed
 * pages V8 returns to the system — what a browser's memory reducer does for an idle tab. A steady trickle of jobs
 * triggers it at most once per hundred events; a busy agent never, since it is never quiet.
 *
 * V8's `gc` function is obtained the way jest's leak detector does (`--expose-gc` set at run time, then
 * `gc` taken from a fresh context); if that ever fails, nothing is collected early and nothing else changes.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export interface QuietCollectorOptions {
  /** How long without job events counts as quiet. */
  readonly quietMs?: number;
  /** Job events since the last collection that make another worth its pause. */
  readonly minEvents?: number;
  /** The collection; V8's full memory-reducing GC by default. */
  readonly collect?: () => void;
  readonly now?: () => number;
}

export interface QuietCollector {
  /** Something happened (the agent: a job event; the gateway: a request). */
  activity(): void;
  /** How many collections ran (status and tests). */
  readonly collections: number;
  close(): void;
}

let v8CollectOnce: { collect: (() => void) | undefined } | undefined;

/**
 * V8's full, compacting collection that gives emptied pages back, or undefined where it cannot be had.
 * Obtained once per process: each attempt builds a fresh context, and a daemon asks at start-up
 * (daemon-runtime.ts) and again for its quiet collector.
 */
export function v8Collect(): (() => void) | undefined {
  v8CollectOnce ??= { collect: obtainV8Collect() };
  return v8CollectOnce.collect;
}

function obtainV8Collect(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as GcFunction;
    // V8 12+ (Node 22+) takes options: the last-resort flavour compacts the old generation and gives its
    // emptied pages back. Node 20's V8 reads any argument as "young generation only"; there a bare gc()
    // is a full collection, made to compact for this one call (else pages holding a few live objects
    // each stay committed).
    if (Number.parseInt(process.versions.v8, 10) >= 12) return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    return () => {
      setFlagsFromString('--compact-on-every-full-gc');
      try {
        gc();
      } finally {
        setFlagsFromString('--no-compact-on-every-full-gc');
      }
    };
  } catch {
    return undefined;
  }
}

export function createQuietCollector(options: QuietCollectorOptions = {}): QuietCollector {
  const quietMs = options.quietMs ?? 2000;
  const minEvents = options.minEvents ?? 100;
  const now = options.now ?? Date.now;
  const collect = options.collect ?? v8Collect();
  let events = 0;
  let last = 0;
  let collections = 0;
  let timer: NodeJS.Timeout | null = null;

  const arm = (ms: number): void => {
    timer = setTimeout(fire, ms);
    // Never keeps the process alive.
    timer.unref();
  };
  function fire(): void {
    timer = null;
    const quietFor = now() - last;
    if (quietFor < quietMs) {
      arm(quietMs - quietFor);
      return;
    }
    if (events < minEvents || !collect) return;
    events = 0;
    collections++;
    collect();
  }

  return {
    activity() {
      events++;
      last = now();
      if (!timer) arm(quietMs);
    },
    get collections() {
      return collections;
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
