/**
 * The agent's HTTP API (docs/agent.md, HTTP API). Handlers only translate HTTP: the JobRunner does the work.
 * Who may call: over a Unix socket, whoever the socket's mode and group let in (the gateway); over TCP,
 * only a caller presenting the shared secret. Only such an authenticated upstream's identity headers are
 * recorded as `submittedBy`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_VERSION, API_VERSION_HEADER, judgeClientApi } from '../core/api-version.js';
import { HEADERS } from '../core/api/contract.js';
import type { LogSink } from '../core/lazy-logger.js';
import { agentError } from './errors.js';
import { clientWentAway, discardBody, readJson, sendError, sendJson, toOutpostError } from './http-io.js';
import { FINAL_STATES, listView, publicView, type SubmittedBy } from './job-record.js';
import { checkJobId, parseJobRequest, parseListQuery } from './job-request.js';
import type { JobChange, JobRunner } from './job-runner.js';
import type { AgentMetrics } from './metrics.js';
import { streamOutput } from './output-stream.js';
import { createMask } from './output-mask.js';
import { templateAllowed, whoami } from './permissions.js';
import { templateView } from './templates.js';
import type { AgentConfig } from './config.js';
import { parseIdempotencyKey } from './idempotency.js';

export interface ApiDeps {
  readonly runner: JobRunner;
  readonly metrics: AgentMetrics;
  readonly logger: LogSink;
  /** Shared secret for TCP listening; undefined for a Unix socket. */
  readonly secret: string | undefined;
  readonly status: () => Record<string, unknown>;
  readonly statusPage: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** The current (reloadable) templates and permissions. */
  readonly access: () => Pick<AgentConfig, 'templates' | 'permissions'>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time: both sides hashed to equal length first, so neither content nor length leaks. */
export function secretMatches(expected: string, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(expected), digest(given));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 1024 ? v : undefined;
}

function submittedByOf(req: IncomingMessage): SubmittedBy | null {
  const subject = header(req, HEADERS.clientSubject);
  const thumbprint = header(req, HEADERS.clientThumbprint);
  const address = header(req, 'x-forwarded-for')?.split(',')[0]?.trim();
  if (!subject && !thumbprint && !address) return null;
  return { ...(subject ? { subject } : {}), ...(thumbprint ? { thumbprint } : {}), ...(address ? { address } : {}) };
}

function notAllowed(allow: string): never {
  throw agentError('AGENT_METHOD_NOT_ALLOWED', `use ${allow} on this endpoint`, { details: { allow } });
}

/** The last `size` job events, with ids `<boot>-<n>` so a client can tell an id from an earlier run. */
export class EventRing {
  private readonly ring: { n: number; text: string }[] = [];
  private n = 0;
  readonly listeners = new Set<(text: string) => void>();

  constructor(
    private readonly boot: string,
    private readonly size: number,
  ) {}

  push(change: JobChange): void {
    const n = ++this.n;
    const text = `id: ${this.boot}-${n}\nevent: job\ndata: ${JSON.stringify(change)}\n\n`;
    this.ring.push({ n, text });
    if (this.ring.length > this.size) this.ring.shift();
    for (const l of this.listeners) l(text);
  }

  /** Events after `lastId`, or null when they cannot be known (other boot, or fallen out of the ring). */
  since(lastId: string): { n: number; text: string }[] | null {
    const m = /^([0-9a-f]+)-(\d+)$/.exec(lastId);
    if (!m || m[1] !== this.boot) return null;
    const after = Number(m[2]);
    const first = this.ring[0]?.n ?? this.n + 1;
    if (after < first - 1) return null;
    return this.ring.filter((e) => e.n > after);
  }
}

const JOB_PATH = /^\/v1\/jobs\/([^/]*)(?:\/(output|cancel|abort))?$/;

export function createApi(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { runner, logger } = deps;
  const events = new EventRing(randomBytes(4).toString('hex'), 4096);
  runner.on('change', (c: JobChange) => events.push(c));

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string> {
    // The raw path, not url.pathname: WHATWG URL parsing would turn /v1/jobs/%2e%2e into /v1/ before
    // the id check could refuse it.
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (path === '/healthz') {
      if (method !== 'GET') notAllowed('GET');
      sendJson(res, 200, { status: 'ok' });
      return path;
    }
    if (path === '/metrics') {
      if (method !== 'GET') notAllowed('GET');
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(text);
      return path;
    }
    if (path === '/v1/status') {
      if (method !== 'GET') notAllowed('GET');
      sendJson(res, 200, deps.status());
      return path;
    }
    if (path === '/v1/whoami') {
      if (method !== 'GET') notAllowed('GET');
      sendJson(res, 200, whoami(deps.access().permissions, submittedByOf(req)));
      return path;
    }
    if (path === '/v1/templates') {
      if (method !== 'GET') notAllowed('GET');
      const { templates, permissions } = deps.access();
      const who = submittedByOf(req);
      sendJson(res, 200, { templates: templates.map((t) => ({ ...templateView(t), allowed: templateAllowed(permissions, who, t.name) })) });
      return path;
    }
    if (path === '/v1/events') {
      if (method !== 'GET') notAllowed('GET');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      // A reconnecting client (Last-Event-ID) gets what it missed from the recent-events ring; an id from
      // before this agent started, or one too old, gets `event: resync` (re-list the jobs instead).
      const last = header(req, HEADERS.lastEventId);
      if (last !== undefined) {
        const missed = events.since(last);
        if (missed === null) res.write(`event: resync\ndata: {}\n\n`);
        else for (const e of missed) res.write(e.text);
      }
      // Events of one event-loop turn leave in one chunk: under load a write per event (each a chunk
      // header, the event and a CRLF in its own writev) was a tenth of the agent's CPU.
      let batch: string[] = [];
      const flush = (): void => {
        const text = batch.join('');
        batch = [];
        if (!res.destroyed && !res.writableEnded) res.write(text);
      };
      const onEvent = (text: string): void => {
        if (batch.push(text) === 1) setImmediate(flush);
      };
      const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      events.listeners.add(onEvent);
      await new Promise<void>((resolve) => res.on('close', resolve));
      clearInterval(beat);
      events.listeners.delete(onEvent);
      return path;
    }
    if (path === '/v1/jobs') {
      if (method === 'POST') {
        // headersDistinct: Node would join a repeated header into one "a, b" value, which must not pass.
        const keys = req.headersDistinct[HEADERS.idempotencyKey];
        const key = parseIdempotencyKey(keys === undefined || keys.length !== 1 ? keys : keys[0]);
        const request = parseJobRequest(await readJson(req));
        const { job, replayed } = await runner.submit(request, submittedByOf(req), key);
        const location = `/v1/jobs/${job.id}`;
        if (replayed) {
          logger.info('job submission repeated: answered with the existing job', { jobId: job.id, state: job.state, idempotencyKey: key });
          sendJson(res, 200, { id: job.id, state: job.state }, { location, [HEADERS.idempotentReplayed]: 'true' });
          return path;
        }
        logger.info('job accepted', { jobId: job.id, state: job.state, submittedBy: job.submittedBy, ...(job.template ? { template: job.template.name } : {}), ...(key !== undefined ? { idempotencyKey: key } : {}) });
        sendJson(res, 201, { id: job.id, state: job.state }, { location });
        return path;
      }
      if (method !== 'GET') notAllowed('GET, POST');
      const jobs = runner.list(parseListQuery(url.searchParams));
      sendJson(res, 200, { jobs: jobs.map(listView) });
      return path;
    }
    const m = JOB_PATH.exec(path);
    if (m) {
      const id = checkJobId(m[1] ?? '');
      const action = m[2];
      if (action === 'cancel' || action === 'abort') {
        if (method !== 'POST') notAllowed('POST');
        await discardBody(req);
        const job = await runner.control(id, action, submittedByOf(req));
        logger.info(`job ${action} requested`, { jobId: id, submittedBy: submittedByOf(req) });
        sendJson(res, 202, { id: job.id, state: job.state });
        return `/v1/jobs/{id}/${action}`;
      }
      if (method !== 'GET') notAllowed('GET');
      const job = runner.get(id);
      if (action === 'output') {
        const offsetText = url.searchParams.get('offset') ?? '0';
        if (!/^\d{1,15}$/.test(offsetText)) throw agentError('AGENT_BAD_REQUEST', 'offset must be a non-negative integer');
        const follow = url.searchParams.get('follow') === '1';
        for (const key of url.searchParams.keys()) {
          if (key !== 'offset' && key !== 'follow') throw agentError('AGENT_BAD_REQUEST', `unknown query parameter ${key}`);
        }
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          [HEADERS.jobState]: job.state,
          // The offset of the first byte sent, so a follower that reconnects can check where it resumes.
          [HEADERS.outputOffset]: offsetText,
        });
        const mask = createMask(await runner.secretValues(id));
        await streamOutput(res, { path: runner.paths(id).output, ended: () => FINAL_STATES.has(runner.get(id).state), mask }, Number(offsetText), follow);
        res.end();
        return '/v1/jobs/{id}/output';
      }
      // The output's size as stored (what GET …/output serves, byte for byte): a follower that already has
      // this many bytes of an ended job needs no further read.
      const outputBytes = await stat(runner.paths(id).output).then((st) => st.size, () => 0);
      sendJson(res, 200, { ...publicView(runner.record(id)), outputBytes });
      return '/v1/jobs/{id}';
    }
    if (await deps.statusPage(req, res)) return '/ui';
    throw agentError('AGENT_NOT_FOUND', `no endpoint ${method} ${path}`);
  }

  return (req, res) => {
    const started = process.hrtime.bigint();
    let routeName = 'unmatched';
    const done = (): void => {
      deps.metrics.httpRequests.inc({ method: req.method ?? 'GET', route: routeName, status: String(res.statusCode) });
      logger.debug('request', {
        method: req.method,
        path: (req.url ?? '').split('?')[0],
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    };
    res.on('finish', done);
    // On every answer, errors included, so a master can tell this agent's API from any other's.
    res.setHeader(API_VERSION_HEADER, String(API_VERSION));
    void (async () => {
      try {
        if (deps.secret !== undefined && !secretMatches(deps.secret, req.headers[HEADERS.secret])) {
          throw agentError('AGENT_UNAUTHENTICATED', 'missing or wrong x-outpost-secret; only the gateway may call the agent');
        }
        // Before anything is read or done: a client of another API major might mean something else.
        const asked = req.headersDistinct[API_VERSION_HEADER];
        const verdict = judgeClientApi(asked === undefined || asked.length !== 1 ? asked : asked[0]);
        if (!verdict.compatible) {
          throw agentError('AGENT_API_VERSION_UNSUPPORTED', `the client announces API version ${verdict.announced ?? '?'}; this agent speaks API ${API_VERSION}: ${verdict.why === 'newer' ? 'upgrade the agent' : verdict.why === 'older' ? 'upgrade the master' : `use a master of API ${API_VERSION}`}`, { details: { apiVersion: API_VERSION } });
        }
        const url = new URL(req.url ?? '/', 'http://agent');
        routeName = await route(req, res, url);
      } catch (err) {
        if (clientWentAway(err, req)) {
          // Nothing to answer and nothing wrong inside the agent: no stack, no error level.
          logger.info('request cut short: the client went away', { method: req.method, path: (req.url ?? '').split('?')[0], reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
          res.destroy();
          return;
        }
        const e = toOutpostError(err);
        // Only the unexpected gets a stack; a full queue or a stopping agent is a warning.
        if (e.code === 'AGENT_INTERNAL') logger.error('request failed', { code: e.code, error: (err as Error).message, stack: (err as Error).stack });
        else if (e.status >= 500) logger.warn('request refused', { code: e.code, error: e.message });
        // Every permission refusal is kept with who asked, what and under which rule (the gateway's audit
        // log has the request line; this says why).
        else if (e.code === 'AGENT_PERMISSION_DENIED') logger.warn('permission denied', { method: req.method, path: (req.url ?? '').split('?')[0], submittedBy: submittedByOf(req), ...e.details, error: e.message });
        sendError(res, e);
      }
    })();
  };
}
