/**
 * Targets: where a job should run. A target has a name (the host prefix on output) and one or more
 * candidate agent URLs — Redwood's ProxyProcessServers: "the first process server from the list that is
 * running will be used". `--agent URL[,URL…]` gives one target; an agents file gives many:
 *
 *     # comment
 *     https://web01.example:8443
 *     db01  https://proxy-a.example:8443, https://proxy-b.example:8443
 */
import { masterError } from './errors.js';

export interface Target {
  readonly name: string;
  readonly candidates: readonly string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Checks an agent URL: https only (the master only talks to gateways over mutual TLS), no credentials. */
export function parseAgentUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw masterError('MASTER_BAD_AGENT_URL', `"${text}" is not a URL; expected https://HOST:PORT`);
  }
  if (url.protocol !== 'https:') {
    throw masterError('MASTER_BAD_AGENT_URL', `"${text}" must use https:// (the gateway requires mutual TLS)`);
  }
  if (url.username || url.password) {
    throw masterError('MASTER_BAD_AGENT_URL', `"${url.host}": user names or passwords in the URL are not used; the client certificate identifies the master`);
  }
  if (url.search || url.hash) {
    throw masterError('MASTER_BAD_AGENT_URL', `"${text}" must not carry a query or fragment`);
  }
  // Normalise: no trailing slash, so paths join predictably.
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The default name of a target: the host and port of its first candidate. */
export function defaultName(url: string): string {
  const u = new URL(url);
  return u.port ? `${u.hostname}:${u.port}` : u.hostname;
}

/** Parses `[NAME] URL[,URL…]` (one --agent value or one agents-file line). */
export function parseTargetSpec(text: string): Target {
  const trimmed = text.trim();
  const firstSpace = trimmed.search(/\s/);
  let name: string | undefined;
  let rest = trimmed;
  const head = firstSpace < 0 ? trimmed : trimmed.slice(0, firstSpace);
  if (!head.includes('://') && firstSpace > 0) {
    name = head;
    rest = trimmed.slice(firstSpace).trim();
    if (!NAME.test(name)) {
      throw masterError('MASTER_AGENTS_FILE_INVALID', `"${name}" is not a valid target name (letters, digits, . _ : -)`);
    }
  }
  const urls = rest.split(/[\s,]+/).filter((s) => s !== '');
  if (urls.length === 0) throw masterError('MASTER_BAD_AGENT_URL', `"${text}" names no agent URL`);
  const candidates = urls.map(parseAgentUrl);
  if (new Set(candidates).size !== candidates.length) {
    throw masterError('MASTER_BAD_AGENT_URL', `"${text}" lists the same candidate twice`);
  }
  return { name: name ?? defaultName(candidates[0] as string), candidates };
}

/** Parses an agents file; reports every bad line (with its number) in one error. */
export function parseAgentsFile(text: string, source = 'agents file'): Target[] {
  const targets: Target[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    try {
      targets.push(parseTargetSpec(line));
    } catch (err) {
      problems.push(`line ${i + 1}: ${(err as Error).message}`);
    }
  });
  if (problems.length > 0) {
    throw masterError('MASTER_AGENTS_FILE_INVALID', `${source}: ${problems.join('; ')}`);
  }
  return targets;
}

/** Joins --agent targets and agents-file targets; names must be unique (they prefix the output). */
export function mergeTargets(lists: readonly (readonly Target[])[]): Target[] {
  const all = lists.flat();
  const seen = new Set<string>();
  for (const t of all) {
    if (seen.has(t.name)) {
      throw masterError('MASTER_USAGE', `target "${t.name}" is listed twice; give it once, or name the lines of the agents file`);
    }
    seen.add(t.name);
  }
  if (all.length === 0) throw masterError('MASTER_USAGE', 'no agent given: use --agent URL (repeatable) or --agents-file FILE');
  return all;
}
