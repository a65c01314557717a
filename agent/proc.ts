/**
 * Identifying a process across agent restarts: a pid alone can be reused, so a process is the pair
 * (pid, start time in clock ticks since boot — /proc/PID/stat field 22), which no later process can share.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** Field 22 of /proc/PID/stat, or null when there is no such process. */
export function processStartTime(pid: number): string | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  return parseStartTime(text);
}

/** The comm field may contain spaces and parentheses, so fields are counted after the last ')'. */
export function parseStartTime(stat: string): string | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const value = fields[19];
  return value !== undefined && /^\d+$/.test(value) ? value : null;
}

/** True when `pid` runs (a zombie does not) and is the very process that was started at `startTime`. */
export function isSameProcess(pid: number, startTime: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || startTime === '') return false;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  const state = text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && parseStartTime(text) === startTime;
}

const signalNames = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num, name] as [number, string]),
);

export function signalName(num: number): string {
  return signalNames.get(num) ?? `SIG${num}`;
}
