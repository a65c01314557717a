/**
 * The remote launcher's wire format (pure; the Perl side is launcher-source.ts). Requests carry every
 * string hex-encoded, so no value is ever parsed by a shell or split on a space; answers are lines, and
 * output frames are a line followed by that many raw bytes.
 */
import type { JobPlan } from './job-plan.js';

const hex = (s: string): string => `x${Buffer.from(s, 'utf8').toString('hex')}`;

/** `R <id> <flags> <cwd> <script|-> <nenv> <NAME=VALUE>… <argv>…` plus the newline. */
export function encodeRequest(id: string, plan: JobPlan): string {
  const fields = [
    'R',
    id,
    plan.loginProfile ? 'p' : '-',
    hex(plan.cwd),
    plan.stdin === undefined ? '-' : hex(plan.stdin),
    String(plan.env.length),
    ...plan.env.map(hex),
    ...plan.argv.map(hex),
  ];
  return `${fields.join(' ')}\n`;
}

export type Frame =
  | { readonly type: 'ready'; readonly version: number }
  | { readonly type: 'started'; readonly id: string; readonly pid: number }
  | { readonly type: 'refused'; readonly id: string; readonly message: string }
  | { readonly type: 'output'; readonly id: string; readonly chunk: Buffer }
  | { readonly type: 'ended'; readonly id: string; readonly state: number | 'gone'; readonly size: number };

export class LauncherProtocolError extends Error {
  override readonly name = 'LauncherProtocolError';
}

const LINE_MAX = 4096;

/** Splits the launcher's stdout into frames, whatever the chunking of the channel. */
export class FrameParser {
  private buffer: Buffer = Buffer.alloc(0);
  /** Output frame whose bytes are still arriving. */
  private pending: { id: string; size: number } | null = null;

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      if (this.pending) {
        if (this.buffer.length < this.pending.size) break;
        frames.push({ type: 'output', id: this.pending.id, chunk: this.buffer.subarray(0, this.pending.size) });
        this.buffer = this.buffer.subarray(this.pending.size);
        this.pending = null;
        continue;
      }
      const nl = this.buffer.indexOf(0x0a);
      if (nl < 0) {
        if (this.buffer.length > LINE_MAX) throw new LauncherProtocolError('launcher sent an overlong line');
        break;
      }
      const line = this.buffer.subarray(0, nl).toString('latin1');
      this.buffer = this.buffer.subarray(nl + 1);
      const frame = parseLine(line);
      if (frame.type === 'output-header') this.pending = { id: frame.id, size: frame.size };
      else frames.push(frame);
    }
    return frames;
  }
}

function parseLine(line: string): Frame | { type: 'output-header'; id: string; size: number } {
  const [type, a, b, c] = line.split(' ');
  const id = a ?? '';
  switch (type) {
    case 'V':
      return { type: 'ready', version: Number(a) };
    case 'S':
      if (/^\d+$/.test(b ?? '')) return { type: 'started', id, pid: Number(b) };
      break;
    case 'E':
      if (/^x(?:[0-9a-f]{2})*$/.test(b ?? '')) return { type: 'refused', id, message: Buffer.from((b ?? 'x').slice(1), 'hex').toString('utf8') };
      break;
    case 'O':
      if (/^\d+$/.test(b ?? '')) return { type: 'output-header', id, size: Number(b) };
      break;
    case 'X':
      if (/^(\d+|gone)$/.test(b ?? '') && /^\d+$/.test(c ?? '')) return { type: 'ended', id, state: b === 'gone' ? 'gone' : Number(b), size: Number(c) };
      break;
  }
  throw new LauncherProtocolError(`launcher sent an unexpected line: ${line.slice(0, 120)}`);
}
