/**
 * The agent's read-only status page for people (`GET /`, `GET /ui/*`), reached through the gateway like
 * the API, so GET-only clients (monitoring) can use it. No script at all: the job list refreshes itself
 * with a meta refresh, and a running job's page streams its output as the job writes it (the response
 * stays open until the job ends), so live output works in any browser, in curl, and under a strict CSP.
 * Security headers come from helmet. Only GET and HEAD are answered; anything else falls through to the
 * API's 404/405 handling.
 */
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import helmet from 'helmet';
import { STYLESHEET } from './status-page/style.js';
import { createMask, type OutputMask } from './output-mask.js';
import { readOutput } from './output-stream.js';
import { esc, isFinal, jobListPage, jobPageHead, jobPageTail, notFoundPage, JOB_STATES, type PageJob } from './status-page/render.js';

export type StatusPageJob = PageJob;

export interface StatusPageContext {
  /** The same object GET /v1/status returns. */
  status(): Record<string, unknown>;
  /** Newest first. */
  jobs(limit: number): readonly StatusPageJob[];
  /** One job by id; undefined (or a thrown not-found error) when there is none. */
  job?(id: string): StatusPageJob | undefined;
  /** Path of a job's combined output file (append-only). */
  outputPath?(id: string): string;
  /** The job's secretEnv values, masked in its output (output-mask.ts). */
  secrets?(id: string): Promise<readonly string[]>;
}

/** Most output shown inline on a job's page; the rest is one click away as text. */
const INLINE_OUTPUT = 256 * 1024;
const POLL_MS = 200;
const JOB_ID = /^[a-z0-9][a-z0-9-]{0,127}$/;

const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  // The gateway is the TLS endpoint and sets HSTS itself.
  strictTransportSecurity: false,
  referrerPolicy: { policy: 'no-referrer' },
});

function applyHelmet(req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => securityHeaders(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

function lookup(ctx: StatusPageContext, id: string): StatusPageJob | undefined {
  if (!JOB_ID.test(id)) return undefined;
  try {
    return ctx.job ? ctx.job(id) : ctx.jobs(10_000).find((j) => j.id === id);
  } catch {
    return undefined;
  }
}

export function createStatusPage(ctx: StatusPageContext): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    const path = url.pathname;
    if (path !== '/' && !path.startsWith('/ui/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const head = req.method === 'HEAD';
    await applyHelmet(req, res);

    if (path === '/ui/style.css') {
      send(res, 200, 'text/css; charset=utf-8', STYLESHEET, head);
      return true;
    }
    if (path === '/') {
      const state = url.searchParams.get('state');
      const filter = state && (JOB_STATES as readonly string[]).includes(state) ? state : null;
      const jobs = ctx.jobs(filter ? 1000 : 200).filter((j) => !filter || j.state === filter).slice(0, 200);
      send(res, 200, 'text/html; charset=utf-8', jobListPage({ status: ctx.status(), jobs, filter, now: Date.now() }), head);
      return true;
    }
    const m = path.match(/^\/ui\/jobs\/([^/]+)(\/output\.txt)?$/);
    const job = m ? lookup(ctx, m[1] as string) : undefined;
    if (!m || !job) {
      const root = path.startsWith('/ui/jobs/') ? '../../' : '../';
      send(res, 404, 'text/html; charset=utf-8', notFoundPage(m ? `No job ${m[1]} on this agent.` : 'No such page.', root), head);
      return true;
    }
    const file = ctx.outputPath?.(job.id);
    const mask = createMask((await ctx.secrets?.(job.id)) ?? []);
    if (m[2]) {
      await sendRawOutput(res, file, head, mask, isFinal(job.state));
      return true;
    }
    await sendJobPage(ctx, res, job, file, head, url.searchParams.get('follow') !== '0', mask);
    return true;
  };
}

async function sendRawOutput(res: ServerResponse, file: string | undefined, head: boolean, mask: OutputMask | null, complete: boolean): Promise<void> {
  // text/plain + nosniff (helmet): a job printing HTML cannot turn this into a page.
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  if (head || !file) return void res.end();
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return void res.end();
  try {
    for (let position = 0; ; ) {
      const chunk = await readOutput(handle, position, 64 * 1024, mask, complete);
      if (chunk.length === 0) break;
      position += chunk.length;
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
  } finally {
    await handle.close();
  }
  res.end();
}

async function sendJobPage(
  ctx: StatusPageContext,
  res: ServerResponse,
  job: StatusPageJob,
  file: string | undefined,
  head: boolean,
  live: boolean,
  mask: OutputMask | null,
): Promise<void> {
  let handle = file ? await open(file, 'r').catch(() => null) : null;
  try {
    const size = handle ? (await handle.stat()).size : 0;
    let position = size > INLINE_OUTPUT ? size - INLINE_OUTPUT : 0;
    const streaming = live && !isFinal(job.state);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    if (head) return void res.end();
    res.write(jobPageHead(job, { now: Date.now(), streaming, truncatedFrom: position }));
    let closed = false;
    res.on('close', () => (closed = true));
    const decoder = new StringDecoder('utf8');
    let current = job;
    for (;;) {
      const ended = !streaming || isFinal(current.state);
      // A queued job has no output file yet: look again on every round.
      if (!handle && file) handle = await open(file, 'r').catch(() => null);
      if (handle) {
        for (;;) {
          const bytes = await readOutput(handle, position, 64 * 1024, mask, isFinal(current.state));
          if (bytes.length === 0 || closed) break;
          position += bytes.length;
          if (!res.write(esc(decoder.write(bytes)))) await new Promise((r) => res.once('drain', r));
        }
      }
      // Checked before the last read, so bytes written just before the end are not missed.
      if (ended || closed) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
      current = lookup(ctx, job.id) ?? current;
    }
    res.end(esc(decoder.end()) + jobPageTail(current, streaming));
  } finally {
    await handle?.close();
  }
}
