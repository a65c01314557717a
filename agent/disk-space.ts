/**
 * The free-space floor of dataDir (minFreeBytes, docs/agent.md "A full disk"): below it new jobs are
 * refused so that what is running (its output, the journal's updates) still has room. The decision is
 * pure; the reading is one statfs(2), cheap enough to make on every submission.
 */
import { statfsSync } from 'node:fs';
import { agentError } from './errors.js';
import type { OutpostError } from '../core/errors.js';

/** What a refused client is told to wait: space comes back by an operator's hand, not in milliseconds. */
export const DISK_RETRY_AFTER_SECONDS = 60;

export interface DiskReading {
  /** Bytes an unprivileged writer may still use (f_bavail); null when statfs failed. */
  readonly freeBytes: number | null;
  readonly floorBytes: number;
  readonly ok: boolean;
}

/** Pure: a filesystem that cannot be read is not called full (refusing every job on a failed statfs would be worse). */
export function diskVerdict(freeBytes: number | null, floorBytes: number): DiskReading {
  return { freeBytes, floorBytes, ok: floorBytes <= 0 || freeBytes === null || freeBytes >= floorBytes };
}

export function readDisk(dir: string, floorBytes: number): DiskReading {
  let free: number | null;
  try {
    const s = statfsSync(dir);
    free = s.bavail * s.bsize;
  } catch {
    free = null;
  }
  return diskVerdict(free, floorBytes);
}

export function diskRefusal(reading: DiskReading, dir: string): OutpostError | null {
  if (reading.ok) return null;
  return agentError('AGENT_DISK_LOW', `${dir} has ${reading.freeBytes ?? '?'} bytes free, below minFreeBytes (${reading.floorBytes}); no new job is accepted until space is freed`, {
    details: { freeBytes: reading.freeBytes, floorBytes: reading.floorBytes, retryAfterSeconds: DISK_RETRY_AFTER_SECONDS },
  });
}
