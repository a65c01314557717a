/**
 * Picking one agent among a target's candidates (Redwood's ProxyProcessServers). `first`: the first that
 * answers `/v1/status`, probed in order so later candidates are not bothered when the first is up.
 * `least-loaded`: probe all at once, pick the lowest (running + queued) / capacity, ties to list order.
 * Every decision is explained so `--explain` can say why one was picked.
 */
import { masterError } from './errors.js';

export type Strategy = 'first' | 'least-loaded';

export interface AgentLoad {
  running: number;
  queued: number;
  capacity: number | null;
  /** Process servers the agent reports as unreachable. */
  unreachableProcessServers: string[];
  /** Process servers the agent knows at all (null when it does not say). */
  processServers: string[] | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Reads the load from a `/v1/status` body, tolerating the nesting the agent may use. */
export function loadOf(status: unknown): AgentLoad {
  const s = (status ?? {}) as Record<string, unknown>;
  const jobs = (typeof s.jobs === 'object' && s.jobs !== null ? s.jobs : {}) as Record<string, unknown>;
  const running = num(s.running) ?? num(jobs.running) ?? num(s.runningJobs) ?? 0;
  const queued = num(s.queued) ?? num(jobs.queued) ?? num(s.queuedJobs) ?? 0;
  const cap = (typeof s.capacity === 'object' && s.capacity !== null ? s.capacity : {}) as Record<string, unknown>;
  const capacity = num(s.capacity) ?? num(cap.maxConcurrentJobs) ?? num(jobs.capacity) ?? num(s.maxConcurrentJobs) ?? null;
  const ps = Array.isArray(s.processServers) ? (s.processServers as unknown[]) : null;
  const names: string[] = [];
  const down: string[] = [];
  for (const p of ps ?? []) {
    const entry = (p ?? {}) as Record<string, unknown>;
    const name = typeof entry.name === 'string' ? entry.name : null;
    if (!name) continue;
    names.push(name);
    if (entry.reachable === false || entry.state === 'unreachable') down.push(name);
  }
  return { running, queued, capacity, unreachableProcessServers: down, processServers: ps ? names : null };
}

export function loadRatio(l: AgentLoad): number {
  const busy = l.running + l.queued;
  return l.capacity && l.capacity > 0 ? busy / l.capacity : busy;
}

export type Probe = (url: string) => Promise<unknown>;

export interface Choice {
  url: string;
  explanation: string[];
}

function describe(l: AgentLoad): string {
  return `${l.running} running, ${l.queued} queued, capacity ${l.capacity ?? 'unknown'}`;
}

/** Why a reachable candidate cannot serve this job (its process server is down or unknown), or null. */
function unfit(l: AgentLoad, processServer: string | undefined): string | null {
  if (!processServer || l.processServers === null) return null;
  if (!l.processServers.includes(processServer)) return `has no process server "${processServer}"`;
  if (l.unreachableProcessServers.includes(processServer)) return `reports process server "${processServer}" unreachable`;
  return null;
}

const reason = (err: unknown): string => {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message ?? ''}` : String(e.message ?? err);
};

export async function chooseCandidate(
  candidates: readonly string[],
  probe: Probe,
  strategy: Strategy,
  processServer?: string,
): Promise<Choice> {
  const explanation: string[] = [];
  if (candidates.length === 1) {
    // Nothing to choose: the job request itself will report an unreachable agent.
    return { url: candidates[0] as string, explanation: [`${candidates[0]}: only candidate`] };
  }
  if (strategy === 'first') {
    for (const url of candidates) {
      try {
        const load = loadOf(await probe(url));
        const why = unfit(load, processServer);
        if (why) {
          explanation.push(`${url}: reachable but ${why}`);
          continue;
        }
        explanation.push(`${url}: reachable (${describe(load)}) -> chosen, first reachable candidate`);
        return { url, explanation };
      } catch (err) {
        explanation.push(`${url}: not usable (${reason(err)})`);
      }
    }
  } else {
    const probes = await Promise.allSettled(candidates.map((url) => probe(url)));
    let best: { url: string; ratio: number; index: number } | null = null;
    probes.forEach((p, i) => {
      const url = candidates[i] as string;
      if (p.status === 'rejected') {
        explanation.push(`${url}: not usable (${reason(p.reason)})`);
        return;
      }
      const load = loadOf(p.value);
      const why = unfit(load, processServer);
      if (why) {
        explanation.push(`${url}: reachable but ${why}`);
        return;
      }
      const ratio = loadRatio(load);
      explanation.push(`${url}: reachable (${describe(load)}, load ${ratio.toFixed(2)})`);
      if (best === null || ratio < best.ratio) best = { url, ratio, index: i };
    });
    const chosen = best as { url: string; ratio: number } | null;
    if (chosen) {
      explanation.push(`-> chosen ${chosen.url}, least loaded (${chosen.ratio.toFixed(2)})`);
      return { url: chosen.url, explanation };
    }
  }
  throw masterError('MASTER_NO_CANDIDATE', `no candidate agent is usable: ${explanation.join('; ')}`, { details: { explanation } });
}
