/**
 * Output demultiplexing. Two small pure pieces:
 *  - `OutputCursor` keeps the byte offset of a job's output already delivered. When a follow connection
 *    drops, the next request asks for `offset = cursor`; whatever the agent sends back is trimmed against
 *    the cursor so a byte is never delivered twice, and a gap (data starting past the cursor) is refused so
 *    output is never out of order.
 *  - `LineSplitter` cuts one host's bytes into whole lines so lines of different hosts never interleave
 *    mid-line; `prefixLine` puts the host name in front.
 */
import { masterError } from './errors.js';

export class OutputCursor {
  #offset: number;

  constructor(offset = 0) {
    this.#offset = offset;
  }

  get offset(): number {
    return this.#offset;
  }

  /**
   * Accepts `data` that the agent says starts at byte `start`; returns the part not seen yet (possibly
   * empty) and advances the cursor.
   */
  accept(start: number, data: Uint8Array): Buffer {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (start > this.#offset) {
      throw masterError('MASTER_OUTPUT_INTERRUPTED', `output resumed at byte ${start} but only ${this.#offset} bytes were received; refusing a gap`);
    }
    const skip = this.#offset - start;
    if (skip >= buf.length) return Buffer.alloc(0);
    const fresh = buf.subarray(skip);
    this.#offset += fresh.length;
    return fresh;
  }
}

/** Longest partial line held back before it is printed anyway (a job printing without newlines). */
const MAX_PARTIAL = 64 * 1024;

export class LineSplitter {
  #pending: Buffer = Buffer.alloc(0);

  /** Returns complete lines (without the newline); keeps the unfinished tail. */
  push(chunk: Uint8Array): string[] {
    const data = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : Buffer.from(chunk);
    const lines: string[] = [];
    let from = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, from);
      if (nl < 0) break;
      // '\n' is ASCII, so cutting there never splits a UTF-8 sequence.
      lines.push(data.subarray(from, nl).toString('utf8').replace(/\r$/, ''));
      from = nl + 1;
    }
    this.#pending = data.subarray(from);
    if (this.#pending.length > MAX_PARTIAL) {
      lines.push(this.#pending.toString('utf8'));
      this.#pending = Buffer.alloc(0);
    }
    return lines;
  }

  /** The unfinished last line, if any (called when the job's output is complete). */
  flush(): string[] {
    if (this.#pending.length === 0) return [];
    const last = this.#pending.toString('utf8');
    this.#pending = Buffer.alloc(0);
    return [last];
  }
}

/**
 * ECMA-48 control functions, in their 7-bit (ESC …) and 8-bit C1 (U+0080–U+009F) forms: a UTF-8 terminal
 * acts on U+009B as on `ESC [`, so a job could clear the screen or set the title with either.
 * - CSI: introducer, parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte;
 * - OSC, DCS, SOS, PM, APC: a string up to BEL or ST (`ESC \` or U+009C), or to the end of the line;
 * - then any other C0 control but TAB, DEL, and any other C1 control.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Removes terminal control sequences a remote job could use to rewrite the operator's screen. */
export function stripControl(line: string): string {
  return line.replace(CONTROL, '');
}

export function prefixLine(host: string, line: string, width: number, paint: (text: string) => string = (t) => t): string {
  return `${paint(`[${host}]`.padEnd(width + 2))} ${stripControl(line)}`;
}
