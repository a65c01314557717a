/**
 * Fan-out with a concurrency level and an optional time span, as in Foreman's remote execution: at most
 * `concurrency` tasks run at once; with a time span, starts are spread evenly across the window, and a task
 * that could not start inside the window (earlier tasks took too long) is not started at all. Cancelling
 * stops new starts; tasks already running finish on their own terms (the caller cancels them remotely).
 */

export type Slot<R> =
  | { readonly status: 'done'; readonly value: R }
  | { readonly status: 'failed'; readonly error: unknown }
  | { readonly status: 'skipped'; readonly reason: 'cancelled' | 'time-span' };

export interface ScheduleOptions {
  concurrency: number;
  /** Spread starts over this many milliseconds; tasks not started by then are skipped. */
  timeSpanMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Injectable for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function schedule<T, R>(
  items: readonly T[],
  options: ScheduleOptions,
  worker: (item: T, index: number) => Promise<R>,
): Promise<Slot<R>[]> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const limit = Math.max(1, Math.floor(options.concurrency));
  const results: Slot<R>[] = new Array<Slot<R>>(items.length);
  const start = now();
  const span = options.timeSpanMs;
  let next = 0;

  const lane = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      if (options.signal?.aborted) {
        results[index] = { status: 'skipped', reason: 'cancelled' };
        continue;
      }
      if (span !== undefined) {
        const due = start + (span * index) / items.length;
        await sleep(due - now(), options.signal);
        if (options.signal?.aborted) {
          results[index] = { status: 'skipped', reason: 'cancelled' };
          continue;
        }
        // The first task opens the window, so it is never late; any later one may be.
        if (index > 0 && now() > start + span) {
          results[index] = { status: 'skipped', reason: 'time-span' };
          continue;
        }
      }
      try {
        results[index] = { status: 'done', value: await worker(items[index] as T, index) };
      } catch (error) {
        results[index] = { status: 'failed', error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
