/**
 * What the operator sees during `outpost job run`: each host's output as whole lines with a host prefix
 * (stdout), notes and the per-host summary (stderr, so piping the output stays clean), a progress bar when
 * a person watches many hosts at a terminal, or with --json nothing live and one document at the end.
 */
import cliProgress from 'cli-progress';
import { paint } from '../core/cli-support.js';
import { LineSplitter, prefixLine } from './output-stream.js';
import { renderSummary, summaryJson, type HostResult } from './summary.js';

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
  readonly #bars: cliProgress.MultiBar | null = null;
  readonly #bar: cliProgress.SingleBar | null = null;
  #finished = 0;
  #failed = 0;

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.#width = Math.max(...options.hosts.map((h) => h.length), 1);
    options.hosts.forEach((h, i) => this.#colors.set(h, HOST_COLORS[i % HOST_COLORS.length] as number));
    if (options.progress) {
      this.#bars = new cliProgress.MultiBar(
        {
          stream: options.stderr as NodeJS.WriteStream,
          format: ' {bar} {value}/{total} hosts done | {failed} failed | {duration_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          gracefulExit: false,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar = this.#bars.create(options.hosts.length, 0, { failed: 0 });
    }
  }

  #write(line: string): void {
    if (this.#bars) this.#bars.log(`${line}\n`);
    else this.#o.stdout.write(`${line}\n`);
  }

  /** A note for the person (stderr); silent with --json. */
  note(text: string): void {
    if (this.#o.json) return;
    if (this.#bars) this.#bars.log(`${text}\n`);
    else this.#o.stderr.write(`${text}\n`);
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
    this.#bar?.increment(1, { failed: this.#failed });
  }

  /** Prints the summary (or the JSON document) and stops the progress bar. */
  finish(rows: readonly HostResult[], interrupted: boolean): void {
    this.#bars?.stop();
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
