/**
 * What the operator sees during `outpost job run`: each host's output as whole lines with a host prefix
 * (stdout), notes and the per-host summary (stderr, so piping the output stays clean), a progress bar when
 * a person watches many hosts at a terminal. With --output-dir each host's output goes to its own file and
 * the terminal shows failures as they happen and the summary. With --json, stdout is NDJSON: one object
 * per host as it finishes, then one summary object, so a script sees results while thousands of hosts run.
 */
import { paint } from '../core/cli-support.js';
import { LineSplitter, prefixLine, stripControl } from './output-stream.js';
import { failureKey, formatDuration, renderSummary, summaryJson, type HostResult } from './summary.js';
import type { OutputDir } from './output-dir.js';

export interface ReporterOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  color: boolean;
  json: boolean;
  progress: boolean;
  hosts: readonly string[];
  /** Max bytes of output kept per host for --json (default 1 MiB). */
  jsonOutputLimit?: number;
  /** Each host's output goes to its own file instead of the terminal. */
  outputDir?: OutputDir | undefined;
}

const HOST_COLORS = [36, 35, 34, 33, 32, 96, 95, 94];

export class Reporter {
  readonly #o: ReporterOptions;
  readonly #splitters = new Map<string, LineSplitter>();
  readonly #colors = new Map<string, number>();
  readonly #width: number;
  readonly #captured = new Map<string, { chunks: Buffer[]; bytes: number; truncated: boolean }>();
  readonly #began = Date.now();
  #timer: NodeJS.Timeout | null = null;
  #barShown = false;
  #started = 0;
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
    const line = renderProgressLine({
      done: this.#finished, total: this.#o.hosts.length, failed: this.#failed,
      running: Math.max(0, this.#started - this.#finished), elapsedMs: Date.now() - this.#began,
    });
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

  /** The host got a lane (for the running count). */
  hostStarted(): void {
    this.#started++;
  }

  output(host: string, data: Buffer): void {
    if (this.#o.outputDir) {
      this.#o.outputDir.write(host, data);
      return;
    }
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
    this.#splitters.delete(result.host);
    if (splitter) for (const line of splitter.flush()) this.#line(result.host, line);
    this.#finished++;
    if (result.state !== 'succeeded') this.#failed++;
    const { outputDir } = this.#o;
    if (outputDir) outputDir.close(result.host);
    if (this.#o.json) {
      this.#o.stdout.write(`${JSON.stringify(this.#hostJson(result))}\n`);
    } else if (outputDir && result.state !== 'succeeded') {
      // The terminal shows failures as they happen; successes only count in the progress and the summary.
      const why = result.error ? `${result.error.code}: ${result.error.message}` : failureKey(result);
      this.#write(stripControl(`[${result.host}] ${result.state}: ${why}`), this.#o.stderr);
    }
    if (this.#timer) this.#drawBar();
  }

  /** One NDJSON line: the result row and the host's output (or the file it was written to). */
  #hostJson(r: HostResult): Record<string, unknown> {
    if (this.#o.outputDir) return { type: 'host', ...r, outputFile: this.#o.outputDir.pathOf(r.host) };
    const c = this.#captured.get(r.host);
    this.#captured.delete(r.host);
    return { type: 'host', ...r, output: c ? Buffer.concat(c.chunks).toString('utf8') : '', outputTruncated: c?.truncated ?? false };
  }

  /** Prints the summary (or the NDJSON summary line) and stops the progress bar. */
  async finish(rows: readonly HostResult[], interrupted: boolean, stoppedEarly = false): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#clearBar();
    const dirError = this.#o.outputDir ? await this.#o.outputDir.flush() : null;
    if (this.#o.json) {
      const doc = summaryJson(rows, interrupted, stoppedEarly);
      if (dirError) doc.outputDirError = { code: (dirError as { code?: string }).code, message: dirError.message };
      this.#o.stdout.write(`${JSON.stringify(doc)}\n`);
    } else {
      this.#o.stderr.write(`\n${renderSummary(rows, this.#o.color, { failuresOnly: this.#o.outputDir !== undefined })}`);
      if (stoppedEarly) this.#o.stderr.write('stopped submitting: --max-failures reached; the hosts not started are listed as skipped\n');
      if (this.#o.outputDir) this.#o.stderr.write(`output of each host: ${this.#o.outputDir.dir}/<host>\n`);
    }
    if (dirError) throw dirError;
  }

  get finished(): number {
    return this.#finished;
  }
}

export interface Progress {
  done: number;
  total: number;
  failed: number;
  running: number;
  elapsedMs: number;
}

/** One line: `[#######-------------]  7/20 hosts done, 1 failed, 3 running, 4.1 hosts/s, 3.2s`. */
export function renderProgressLine(p: Progress, width = 24): string {
  const filled = p.total > 0 ? Math.round((p.done / p.total) * width) : width;
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  return `[${bar}] ${String(p.done).padStart(String(p.total).length)}/${p.total} hosts done, ${p.failed} failed, ${p.running} running, ` +
    `${rate < 10 ? rate.toFixed(1) : Math.round(rate)} hosts/s, ${formatDuration(p.elapsedMs)}`;
}
