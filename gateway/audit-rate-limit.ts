/**
 * One audit line per unlisted source per interval, so a scan cannot fill the disk: the first refusal of a
 * source in an interval is written at once; later ones in the same interval are only counted, and given
 * back as one summary when the interval ends (`due`), when the same source is refused again after it
 * (`hit`), or at stop (`drain`). Pure: times come in as arguments, nothing is written here.
 *
 * Memory is bounded by `maxSources`: a new source past it evicts the one tracked longest, whose summary is
 * handed back at once (its count is not lost, only the interval cut short) and counted in `evicted`.
 */

export interface HeldBack {
  src: string;
  /** Refusals counted but not written. */
  count: number;
  /** Epoch milliseconds of the first and the last of them. */
  firstAt: number;
  lastAt: number;
}

export interface HitResult {
  /** Write this refusal's own line. */
  write: boolean;
  /** Lines held back earlier (this source's ended interval, or an evicted source's), to write first. */
  summaries: HeldBack[];
}

interface Window {
  start: number;
  count: number;
  firstAt: number;
  lastAt: number;
}

export class AuditRateLimit {
  /** Map order is window-start order: a window is deleted and re-inserted when it restarts. */
  private readonly windows = new Map<string, Window>();
  /** Sources evicted before their interval ended because `maxSources` were tracked. */
  evicted = 0;

  /** `intervalMs` 0: no limit, every refusal is written. */
  constructor(
    public intervalMs: number,
    private readonly maxSources: number,
  ) {
    if (!Number.isInteger(maxSources) || maxSources < 1) throw new RangeError('maxSources must be a positive integer');
  }

  tracked(): number {
    return this.windows.size;
  }

  hit(src: string, now: number): HitResult {
    if (this.intervalMs <= 0) return { write: true, summaries: [] };
    const summaries: HeldBack[] = [];
    const w = this.windows.get(src);
    if (w && now < w.start + this.intervalMs) {
      if (w.count === 0) w.firstAt = now;
      w.count++;
      w.lastAt = now;
      return { write: false, summaries };
    }
    if (w) {
      this.windows.delete(src);
      if (w.count > 0) summaries.push(heldBack(src, w));
    } else if (this.windows.size >= this.maxSources) {
      const [oldest, ow] = this.windows.entries().next().value as [string, Window];
      this.windows.delete(oldest);
      this.evicted++;
      if (ow.count > 0) summaries.push(heldBack(oldest, ow));
    }
    this.windows.set(src, { start: now, count: 0, firstAt: 0, lastAt: 0 });
    return { write: true, summaries };
  }

  /** Summaries of the intervals ended by `now`; those sources are forgotten. */
  due(now: number): HeldBack[] {
    const out: HeldBack[] = [];
    for (const [src, w] of this.windows) {
      if (now < w.start + this.intervalMs) break;
      this.windows.delete(src);
      if (w.count > 0) out.push(heldBack(src, w));
    }
    return out;
  }

  /** Every summary still held (at stop, or when the limit is switched off); forgets every source. */
  drain(): HeldBack[] {
    const out: HeldBack[] = [];
    for (const [src, w] of this.windows) if (w.count > 0) out.push(heldBack(src, w));
    this.windows.clear();
    return out;
  }
}

function heldBack(src: string, w: Window): HeldBack {
  return { src, count: w.count, firstAt: w.firstAt, lastAt: w.lastAt };
}
