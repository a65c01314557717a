/**
 * The end of a fan-out: one row per host, the table people read, the JSON scripts read, and the exit status.
 */
import { stripControl } from './output-stream.js';

export type HostState =
  | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'lost'
  /** Master-side outcomes: never submitted, or the agent could not be reached. */
  | 'skipped' | 'unreachable' | 'error';

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'lost']);

export interface HostResult {
  host: string;
  /** The candidate agent that ran the job (absent when none was reached). */
  agent: string | null;
  jobId: string | null;
  state: HostState;
  exitCode: number | null;
  signal: string | null;
  durationMs: number | null;
  /** Why the master could not get a result: an error code and message. */
  error: { code: string; message: string } | null;
  /** Bytes of output received. */
  outputBytes: number;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

const STATE_COLOR: Record<string, number> = { succeeded: 32, failed: 31, timed_out: 31, lost: 31, unreachable: 31, error: 31, cancelled: 33, skipped: 33 };

export interface FailureGroup {
  /** The error code, or the job's own outcome (`failed (exit 3)`, `timed_out`, `failed (SIGKILL)`). */
  key: string;
  count: number;
  /** The first few hosts of the group, in target order. */
  hosts: string[];
}

/** Why a host did not succeed, as one key hosts can be grouped by; null for a success. */
export function failureKey(r: HostResult): string | null {
  if (r.state === 'succeeded') return null;
  if (r.error) return r.error.code;
  if (r.state === 'failed' && r.exitCode !== null) return `failed (exit ${r.exitCode})`;
  if (r.signal) return `${r.state} (${r.signal})`;
  return r.state;
}

/** Hosts that did not succeed, grouped by why, largest group first (ties in order of first appearance). */
export function groupFailures(rows: readonly HostResult[], examples = 3): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const r of rows) {
    const key = failureKey(r);
    if (key === null) continue;
    let g = groups.get(key);
    if (!g) {
      g = { key, count: 0, hosts: [] };
      groups.set(key, g);
    }
    g.count++;
    if (g.hosts.length < examples) g.hosts.push(r.host);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

/** `37 hosts: MASTER_CONNECT_TIMEOUT (web01, web07, db03, …)`, one line per group. */
export function renderFailureGroups(groups: readonly FailureGroup[]): string[] {
  return groups.map((g) => {
    const more = g.count > g.hosts.length ? ', …' : '';
    // The key carries an agent's error code: what an agent answered never reaches the terminal raw.
    return stripControl(`${g.count} host${g.count === 1 ? '' : 's'}: ${g.key} (${g.hosts.join(', ')}${more})`);
  });
}

export interface SummaryOptions {
  /** List only the hosts that did not succeed in the table (large fleets, --output-dir). */
  failuresOnly?: boolean;
}

export function renderSummary(allRows: readonly HostResult[], color: boolean, options: SummaryOptions = {}): string {
  const header = ['HOST', 'STATE', 'EXIT', 'DURATION', 'JOB', 'NOTE'];
  const rows = options.failuresOnly ? allRows.filter((r) => r.state !== 'succeeded') : allRows;
  const body = rows.map((r) => [
    r.host,
    r.state,
    r.exitCode !== null ? String(r.exitCode) : r.signal ?? '-',
    formatDuration(r.durationMs),
    // Job ids and error texts come from agents: no more trusted with the terminal than job output.
    stripControl(r.jobId ?? '-'),
    r.error ? stripControl(`${r.error.code}: ${r.error.message}`) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[], paintState: boolean): string =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0);
        const code = STATE_COLOR[c];
        return paintState && i === 1 && color && code ? `\u001b[${code}m${padded}\u001b[0m` : padded;
      })
      .join('  ')
      .trimEnd();
  const counts = new Map<string, number>();
  for (const r of allRows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const tally = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const groups = groupFailures(allRows);
  const table = rows.length > 0 ? [line(header, false), ...body.map((b) => line(b, true))] : [];
  const why = groups.length > 0 ? ['', 'not succeeded, by cause:', ...renderFailureGroups(groups).map((l) => `  ${l}`)] : [];
  return [...table, ...why, `${allRows.length} host${allRows.length === 1 ? '' : 's'}: ${tally}`].join('\n') + '\n';
}

/**
 * Exit status of `outpost job run`:
 *  - 0 when every host succeeded;
 *  - with one host, that job's own exit code when it failed with one (as `ssh host cmd` does), 124 when it
 *    timed out (as `timeout(1)` does);
 *  - 130 when the operator interrupted the run (Ctrl-C), as shells report SIGINT;
 *  - 1 otherwise when any host failed, timed out, was cancelled, lost, skipped or unreachable.
 */
export function exitStatus(rows: readonly HostResult[], interrupted: boolean): number {
  if (interrupted) return 130;
  if (rows.length > 0 && rows.every((r) => r.state === 'succeeded')) return 0;
  if (rows.length === 1) {
    const only = rows[0] as HostResult;
    if (only.state === 'failed' && only.exitCode !== null && only.exitCode > 0 && only.exitCode < 256) return only.exitCode;
    if (only.state === 'timed_out') return 124;
  }
  return 1;
}

/** The last line of `--json` (NDJSON): the run as a whole, with stable keys for scripts. */
export function summaryJson(rows: readonly HostResult[], interrupted: boolean, stoppedEarly = false): Record<string, unknown> {
  const states: Record<string, number> = {};
  for (const r of rows) states[r.state] = (states[r.state] ?? 0) + 1;
  return {
    type: 'summary',
    ok: exitStatus(rows, interrupted) === 0,
    exitStatus: exitStatus(rows, interrupted),
    interrupted,
    stoppedEarly,
    hosts: rows.length,
    states,
    failures: groupFailures(rows).map((g) => ({ key: g.key, count: g.count, hosts: g.hosts })),
  };
}

/** A progress bar is for a person at a terminal watching many hosts; never when piped or with --json. */
export function shouldShowProgress(o: { isTTY: boolean; hosts: number; json: boolean; disabled: boolean }): boolean {
  return o.isTTY && !o.json && !o.disabled && o.hosts >= 3;
}
