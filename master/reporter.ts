/**
 * What the operator sees during `outpost job run`: each host's output as whole lines with a host prefix
 * (stdout), notes and the per-host summary (stderr, so piping the output stays clean), a progress bar when
 * a person watches many hosts at a terminal, or with --json nothing live and one document at the end.
 */
import { paint } from '../core/cli-support.js';
import { LineSplitter, prefixLine } from './output-stream.js';
import { formatDuration, renderSummary, summaryJson, type HostResult } from './summary.js';

export interface ReporterOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  color: boolean;
  json: boolean;
  progress: boolean;
  hosts: readonly string[];
  /** Max bytes of output kept per host for --json (default 1 MiB). */
  jsonOutputLimit?: number;
}

const HOST_COLORS = [36, 35, 34, 33, 32, 96, 95, 94];

export class Reporter {
  readonly #o: ReporterOptions;
  readonly #splitters = new Map<string, LineSplitter>();
  readonly #colors = new Map<string, number>();
  readonly #width: number;
  readonly #captured = new Map<string, { chunks: Buffer[]; bytes: number; truncated: boolean }>();
  readonly #started = Date.now();
  #timer: NodeJS.Timeout | null = null;
  #barShown = false;
  #finished = 0;
  #failed = 0;

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#width = Math.max(...options.hosts.map((h) => h.length), 1);
    options.hosts.forEach((h, i) => this.#colors.set(h, HOST_COLORS[i % HOST_COLORS.length] as number));
    if (options.progress) {
      this.#drawBar();
      // Keeps the elapsed time moving while hosts are quiet; never keeps the process alive.
      this.#timer = setInterval(() => this.#drawBar(), 1000);
      this.#timer.unref();
    }
  }

  /** The bar lives on the last line of stderr; anything printed clears it first and redraws it after. */
  #drawBar(): void {
    if (!this.#o.progress) return;
    const line = renderProgressLine(this.#finished, this.#o.hosts.length, this.#failed, Date.now() - this.#started);
    this.#o.stderr.write(`\r\u001b[2K${line}`);
    this.#barShown = true;
  }

  #clearBar(): void {
    if (this.#barShown) this.#o.stderr.write('\r\u001b[2K');
    this.#barShown = false;
  }

  #write(line: string, stream: NodeJS.WritableStream = this.#o.stdout): void {
    this.#clearBar();
    stream.write(`${line}\n`);
    if (this.#timer) this.#drawBar();
  }

  /** A note for the person (stderr); silent with --json. */
  note(text: string): void {
    if (this.#o.json) return;
    this.#write(text, this.#o.stderr);
  }

  output(host: string, data: Buffer): void {
    if (this.#o.json) {
      const c = this.#captured.get(host) ?? { chunks: [], bytes: 0, truncated: false };
      const limit = this.#o.jsonOutputLimit ?? 1024 * 1024;
      const room = limit - c.bytes;
      if (room > 0) {
        c.chunks.push(data.subarray(0, room));
        c.bytes += Math.min(room, data.length);
      }
      if (data.length > room) c.truncated = true;
      this.#captured.set(host, c);
      return;
    }
    let splitter = this.#splitters.get(host);
    if (!splitter) {
      splitter = new LineSplitter();
      this.#splitters.set(host, splitter);
    }
    for (const line of splitter.push(data)) this.#line(host, line);
  }

  #line(host: string, line: string): void {
    const code = this.#colors.get(host) ?? 36;
    this.#write(prefixLine(host, line, this.#width, (s) => paint(this.#o.color, code, s)));
  }

  hostDone(result: HostResult): void {
    const splitter = this.#splitters.get(result.host);
    if (splitter) for (const line of splitter.flush()) this.#line(result.host, line);
    this.#finished++;
    if (result.state !== 'succeeded') this.#failed++;
    if (this.#timer) this.#drawBar();
  }

  /** Prints the summary (or the JSON document) and stops the progress bar. */
  finish(rows: readonly HostResult[], interrupted: boolean): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#clearBar();
    if (this.#o.json) {
      const doc = summaryJson(rows, interrupted);
      doc.hosts = rows.map((r) => {
        const c = this.#captured.get(r.host);
        return { ...r, output: c ? Buffer.concat(c.chunks).toString('utf8') : '', outputTruncated: c?.truncated ?? false };
      });
      this.#o.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return;
    }
    this.#o.stderr.write(`\n${renderSummary(rows, this.#o.color)}`);
  }

  get finished(): number {
    return this.#finished;
  }
}

/** One line: `[#######-------------]  7/20 hosts done, 1 failed, 3.2s`. */
export function renderProgressLine(done: number, total: number, failed: number, elapsedMs: number, width = 24): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  return `[${bar}] ${String(done).padStart(String(total).length)}/${total} hosts done, ${failed} failed, ${formatDuration(elapsedMs)}`;
}
