/**
 * The version of the agent's HTTP API, which is what master and agent must agree on — not the product
 * version (core/version.ts): releases that keep the wire format keep API_VERSION. Each side announces its
 * own in the `Outpost-Api-Version` header (agent: every response; master: every request) as `MAJOR` or
 * `MAJOR.MINOR`. Only the major decides: a minor adds things an older peer of the same major may ignore.
 * Pure: the agent and the master decide with these functions and raise their own error codes.
 */

/** The API this build speaks; raise the major only for changes an older peer would misread. */
export const API_VERSION = 1;

/**
 * Lowercase, as Node reports it. Not `x-outpost-…`: the gateway drops client-sent headers with that
 * prefix (they carry identity only the gateway may vouch for), and this one must reach the agent.
 */
export const API_VERSION_HEADER = 'outpost-api-version';

export interface ApiVersion {
  readonly major: number;
  readonly minor: number;
}

/** `1` or `1.2` (at most 6 digits each); anything else (lists, signs, spaces inside) is null. */
export function parseApiVersion(text: string | readonly string[] | undefined): ApiVersion | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{1,6})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0) };
}

export type ApiVerdict =
  | { readonly compatible: true; readonly peer: ApiVersion }
  /** `missing`: the peer announces no version (older than API versioning); `malformed`: unreadable. */
  | { readonly compatible: false; readonly why: 'missing' | 'malformed'; readonly announced: string | undefined }
  | { readonly compatible: false; readonly why: 'newer' | 'older'; readonly peer: ApiVersion; readonly announced: string };

/**
 * The master's decision on an agent's announced version: same major → compatible; no header at all →
 * an agent older than versioning, which may misread what this master sends → incompatible.
 */
export function judgeAgentApi(announced: string | readonly string[] | undefined, ours = API_VERSION): ApiVerdict {
  if (announced === undefined) return { compatible: false, why: 'missing', announced: undefined };
  const text = typeof announced === 'string' ? announced : announced.join(', ');
  const peer = parseApiVersion(announced);
  if (!peer) return { compatible: false, why: 'malformed', announced: text };
  if (peer.major === ours) return { compatible: true, peer };
  return { compatible: false, why: peer.major > ours ? 'newer' : 'older', peer, announced: text };
}

/**
 * The agent's decision on a client's announced version: no header is fine (curl, the status page, scripts
 * written against the documented API); a header must name this major.
 */
export function judgeClientApi(announced: string | readonly string[] | undefined, ours = API_VERSION): ApiVerdict {
  if (announced === undefined) return { compatible: true, peer: { major: ours, minor: 0 } };
  return judgeAgentApi(announced, ours);
}

/** What to do about an incompatible agent, for the master's message. */
export function incompatibleAgentAdvice(verdict: Exclude<ApiVerdict, { compatible: true }>, ours = API_VERSION): string {
  switch (verdict.why) {
    case 'missing':
      return `the agent announces no API version (an Outpost agent from before API versioning, or not an Outpost agent); this master speaks API ${ours}: upgrade the agent`;
    case 'malformed':
      return `the agent announces API version "${verdict.announced ?? ''}", which this master cannot read; this master speaks API ${ours}: check that the URL is an Outpost gateway and upgrade the agent or the master`;
    case 'newer':
      return `the agent speaks API ${verdict.announced}, this master speaks API ${ours}: upgrade the master to a release that speaks API ${verdict.peer.major}`;
    case 'older':
      return `the agent speaks API ${verdict.announced}, this master speaks API ${ours}: upgrade the agent to a release that speaks API ${ours}`;
  }
}
