/**
 * The status page's HTML, as pure functions of plain values (unit-tested without a server). Everything
 * that came from a job is escaped; there is no script and no inline style, so the CSP can be strict.
 * Links are relative so the page also works when a gateway serves the agent under a path prefix.
 */

export interface PageJob {
  readonly id: string;
  readonly state: string;
  readonly createdAt: string;
  readonly startedAt?: string | null;
  readonly endedAt: string | null;
  readonly exitCode: number | null;
  readonly signal?: string | null;
  readonly description?: string;
  readonly executor?: string;
  readonly message?: string | null;
  /** The output was cut (maxOutputBytes or a full disk): it ends with a marker line. */
  readonly outputTruncated?: boolean;
  readonly ranOn?: { host: string; user: string } | null;
  readonly submittedBy?: { subject?: string; address?: string } | null;
  /** Template jobs: the template and its inputs as the job record keeps them (secret inputs already masked). */
  readonly template?: { name: string; inputs: Record<string, string | number | boolean> };
}

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'lost'] as const;
const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'lost']);

export const isFinal = (state: string): boolean => FINAL.has(state);

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function duration(job: Pick<PageJob, 'startedAt' | 'endedAt'>, now: number): string {
  if (!job.startedAt) return '';
  const start = Date.parse(job.startedAt);
  const end = job.endedAt ? Date.parse(job.endedAt) : now;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return '';
  const ms = Math.max(0, end - start);
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `2026-11-23T12:00:01.123Z` → `2026-11-23 12:00:01Z`, in a <time> element. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '';
  const short = iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return `<time datetime="${esc(iso)}">${esc(short)}</time>`;
}

export function stateBadge(state: string): string {
  const known = (JOB_STATES as readonly string[]).includes(state) ? state : 'unknown';
  return `<span class="state state-${known}">${esc(state)}</span>`;
}

export function exitText(job: Pick<PageJob, 'exitCode' | 'signal'>): string {
  if (job.exitCode !== null && job.exitCode !== undefined) return String(job.exitCode);
  return job.signal ? esc(job.signal) : '';
}

interface Layout {
  title: string;
  /** Relative path back to the page root ('' on `/`, '../../' on /ui/jobs/ID). */
  root: string;
  refreshSeconds?: number;
  header: string;
  body: string;
}

export function layout(p: Layout): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${p.refreshSeconds ? `<meta http-equiv="refresh" content="${p.refreshSeconds}">\n` : ''}<title>${esc(p.title)}</title>
<link rel="stylesheet" href="${p.root}ui/style.css">
</head>
<body>
<header><h1><a href="${p.root || './'}">Outpost agent</a></h1>${p.header}</header>
<main>
${p.body}
</main>
<footer>Read-only view. Jobs are started by masters through the gateway with a connector certificate.</footer>
</body>
</html>
`;
}

export function statusFacts(status: Record<string, unknown>): string {
  const jobs = (status.jobs && typeof status.jobs === 'object' ? status.jobs : {}) as Record<string, unknown>;
  const capacity = (status.capacity && typeof status.capacity === 'object' ? status.capacity : {}) as Record<string, unknown>;
  const pick = (k: string): unknown => {
    const v = status[k] ?? jobs[k] ?? capacity[k];
    return typeof v === 'object' ? undefined : v;
  };
  const uptime = Number(pick('uptimeSeconds') ?? pick('uptime'));
  const facts: [string, unknown][] = [
    ['version', pick('version')],
    ['up', Number.isFinite(uptime) ? duration({ startedAt: new Date(0).toISOString(), endedAt: new Date(uptime * 1000).toISOString() }, 0) : undefined],
    ['running', pick('running')],
    ['queued', pick('queued')],
    ['capacity', pick('capacity') ?? pick('maxConcurrentJobs')],
  ];
  const disk = (status.disk && typeof status.disk === 'object' ? status.disk : {}) as Record<string, unknown>;
  if (typeof disk.freeBytes === 'number') {
    facts.push(['disk free', `${Math.floor(disk.freeBytes / 1048576)} MiB${disk.ok === false ? ' — below minFreeBytes: new jobs refused' : ''}`]);
  }
  const items = facts.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => `<li>${esc(k)} <b>${esc(v)}</b></li>`);
  return `<ul class="facts">${items.join('')}</ul>`;
}

export function jobListPage(o: { status: Record<string, unknown>; jobs: readonly PageJob[]; filter: string | null; now: number }): string {
  const filters = ['all', ...JOB_STATES]
    .map((s) => {
      const on = (o.filter ?? 'all') === s;
      return `<a href="${s === 'all' ? './' : `./?state=${s}`}"${on ? ' class="on" aria-current="page"' : ''}>${esc(s)}</a>`;
    })
    .join('');
  const rows = o.jobs
    .map((j) => `<tr>
<td><a href="ui/jobs/${esc(j.id)}"><code>${esc(j.id)}</code></a></td>
<td>${stateBadge(j.state)}</td>
<td class="num">${exitText(j)}</td>
<td>${time(j.createdAt)}</td>
<td class="num">${esc(duration(j, o.now))}</td>
<td>${esc(j.description ?? '')}</td>
</tr>`)
    .join('\n');
  const table = o.jobs.length === 0
    ? `<p class="empty">No ${o.filter ? esc(o.filter) + ' ' : ''}jobs yet.</p>`
    : `<table>
<thead><tr><th>Job</th><th>State</th><th>Exit</th><th>Created</th><th>Duration</th><th>Description</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
  return layout({
    title: 'Outpost agent — jobs',
    root: '',
    refreshSeconds: 5,
    header: statusFacts(o.status),
    body: `<nav class="filters" aria-label="Filter by state">${filters}</nav>\n${table}`,
  });
}

/** The top of a job's page, up to the opening of the output block (the output may then be streamed). */
export function jobPageHead(job: PageJob, o: { now: number; streaming: boolean; truncatedFrom: number }): string {
  const facts: [string, string][] = [
    ['State', stateBadge(job.state)],
    ['Exit code', exitText(job) || '–'],
    ['Created', time(job.createdAt)],
    ['Started', time(job.startedAt) || '–'],
    ['Ended', time(job.endedAt) || '–'],
    ['Duration', esc(duration(job, o.now)) || '–'],
  ];
  if (job.description) facts.push(['Description', esc(job.description)]);
  if (job.template) {
    facts.push(['Template', `<code>${esc(job.template.name)}</code>`]);
    const inputs = Object.entries(job.template.inputs);
    if (inputs.length > 0) facts.push(['Inputs', inputs.map(([k, v]) => `<code>${esc(k)}</code> = <code>${esc(JSON.stringify(v))}</code>`).join('<br>')]);
  }
  if (job.executor) facts.push(['Executor', `<code>${esc(job.executor)}</code>`]);
  if (job.ranOn) facts.push(['Ran on', `<code>${esc(job.ranOn.user)}@${esc(job.ranOn.host)}</code>`]);
  if (job.submittedBy?.subject) facts.push(['Submitted by', `${esc(job.submittedBy.subject)}${job.submittedBy.address ? ` from ${esc(job.submittedBy.address)}` : ''}`]);
  if (job.message) facts.push(['Message', esc(job.message)]);
  if (job.outputTruncated) facts.push(['Output', 'cut: the job printed more than was kept (the marker line at its end says where and why)']);
  const dl = `<dl class="job">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const note = o.truncatedFrom > 0
    ? `<p class="note">Showing output from byte ${o.truncatedFrom}; the <a href="${esc(job.id)}/output.txt">full output</a> is available as text.</p>`
    : `<p class="note"><a href="${esc(job.id)}/output.txt">Output as plain text</a>${o.streaming ? ' · live: this page keeps loading until the job ends' : ''}</p>`;
  const html = layout({
    title: `Outpost job ${job.id}`,
    root: '../../',
    header: `<p class="facts">Job <code>${esc(job.id)}</code></p>`,
    body: `${dl}\n<h2>Output</h2>\n${note}\n<pre class="output" id="output">`,
  });
  // Cut at the <pre>: the caller writes the output, then jobPageTail().
  return html.slice(0, html.indexOf('<pre class="output" id="output">') + '<pre class="output" id="output">'.length);
}

export function jobPageTail(job: PageJob, streamed: boolean): string {
  const ended = streamed && isFinal(job.state)
    ? `<p class="ended">Job ended: ${stateBadge(job.state)}${exitText(job) ? ` exit code <b>${exitText(job)}</b>` : ''} at ${time(job.endedAt)}</p>`
    : '';
  return `</pre>\n${ended}\n</main>
<footer>Read-only view. Jobs are started by masters through the gateway with a connector certificate.</footer>
</body>
</html>
`;
}

export function notFoundPage(what: string, root: string): string {
  return layout({ title: 'Not found', root, header: '', body: `<p class="empty">${esc(what)}</p><p><a href="${root || './'}">All jobs</a></p>` });
}
