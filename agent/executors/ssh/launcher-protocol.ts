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
/**
 * Largest output frame accepted: the launcher sends at most 256 KiB per frame (launcher-source.ts CHUNK).
 * A bigger header is not the launcher speaking, and trusting it would make every later byte that job's output.
 */
export const FRAME_MAX = 1024 * 1024;

/**
 * Splits the launcher's stdout into frames, whatever the chunking of the channel. Output bytes are handed
 * on as they arrive (an output frame may come out in several pieces), so nothing but one partial line
 * (at most LINE_MAX bytes) is ever buffered and each byte is copied at most once.
 */
export class FrameParser {
  private line: Buffer = Buffer.alloc(0);
  /** Output frame whose bytes are still arriving. */
  private pending: { id: string; left: number } | null = null;

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let data = chunk;
    while (data.length > 0) {
      if (this.pending) {
        const take = Math.min(this.pending.left, data.length);
        frames.push({ type: 'output', id: this.pending.id, chunk: data.subarray(0, take) });
        data = data.subarray(take);
        this.pending.left -= take;
        if (this.pending.left === 0) this.pending = null;
        continue;
      }
      const nl = data.indexOf(0x0a);
      const end = nl < 0 ? data.length : nl;
      if (this.line.length + end > LINE_MAX) throw new LauncherProtocolError('launcher sent an overlong line');
      if (nl < 0) {
        this.line = Buffer.concat([this.line, data]);
        break;
      }
      const line = (this.line.length > 0 ? Buffer.concat([this.line, data.subarray(0, nl)]) : data.subarray(0, nl)).toString('latin1');
      this.line = Buffer.alloc(0);
      data = data.subarray(nl + 1);
      const frame = parseLine(line);
      if (frame.type !== 'output-header') frames.push(frame);
      else if (frame.size > FRAME_MAX) throw new LauncherProtocolError(`launcher announced a ${frame.size}-byte output frame (at most ${FRAME_MAX})`);
      else if (frame.size > 0) this.pending = { id: frame.id, left: frame.size };
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
      if (/^\d{1,15}$/.test(b ?? '')) return { type: 'output-header', id, size: Number(b) };
      break;
    case 'X':
      if (/^(\d+|gone)$/.test(b ?? '') && /^\d+$/.test(c ?? '')) return { type: 'ended', id, state: b === 'gone' ? 'gone' : Number(b), size: Number(c) };
      break;
  }
  throw new LauncherProtocolError(`launcher sent an unexpected line: ${line.slice(0, 120)}`);
}
