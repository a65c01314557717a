/**
 * maxOutputBytes (docs/agent.md, "A full disk"): which part of a job's output is kept and the marker line
 * that says where it was cut. Pure. The local supervisor (supervisor-source.ts, Perl) applies the same
 * rule to the bytes it pumps; the SSH executor uses this class for the bytes it appends.
 */

/** The line appended where output was cut; a newline first unless the kept output already ends a line. */
export function outputCutMarker(cap: number, endsLine: boolean, why = 'maxOutputBytes'): string {
  return `${endsLine ? '' : '\n'}[outpost: output cut at ${cap} bytes; ${why}]\n`;
}

/** The cap in force for a job: what it asked for, never more than the agent's own value now. */
export function effectiveOutputCap(asked: number | undefined, agentCap: number): number {
  return Math.min(asked ?? agentCap, agentCap);
}

/** Counts what is kept; once the cap is reached everything further is dropped and the marker given once. */
export class OutputCap {
  private endsLine: boolean;
  private isCut: boolean;

  /** `kept`: bytes already in the output file (a re-attached job); `endsLine`: whether they end a line. */
  constructor(
    readonly cap: number,
    private kept = 0,
    endsLine = true,
  ) {
    this.endsLine = endsLine;
    // A file already at the cap was cut before (it holds the marker too).
    this.isCut = kept >= cap && kept > 0;
  }

  get cut(): boolean {
    return this.isCut;
  }

  get keptBytes(): number {
    return this.kept;
  }

  /** What of `chunk` to write, then the marker to append after it (only on the chunk that reaches the cap). */
  take(chunk: Buffer): { keep: Buffer; marker: string | null } {
    if (this.isCut) return { keep: chunk.subarray(0, 0), marker: null };
    const room = this.cap - this.kept;
    if (chunk.length <= room) {
      this.kept += chunk.length;
      if (chunk.length > 0) this.endsLine = chunk[chunk.length - 1] === 10;
      return { keep: chunk, marker: null };
    }
    const keep = chunk.subarray(0, room);
    this.kept += keep.length;
    if (keep.length > 0) this.endsLine = keep[keep.length - 1] === 10;
    this.isCut = true;
    return { keep, marker: outputCutMarker(this.cap, this.endsLine) };
  }
}
