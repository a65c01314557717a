/**
 * Versions on the wire, end to end: the real agent announces its API version on every answer (through the
 * real gateway too) and in /v1/status, refuses a client of another major, and `outpost agent status` shows
 * both sides; the master CLI refuses a fake agent that announces another version, or none, and submits
 * nothing to it; an agent refuses to start on a journal of a newer format and leaves dataDir as it was.
 */
import t from 'tap';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_VERSION } from '../../core/api-version.js';
import { STORE_FORMAT } from '../../agent/job-store.js';
import { STATUS_FORMAT } from '../../agent/executors/local/supervisor-source.js';
import { startAgentProcess } from '../fixtures/agent.js';
import { runOutpost } from '../fixtures/cli.js';
import { startMtlsFleet, type MtlsServer } from '../fixtures/mtls-server.js';
import { parseRunJson } from '../fixtures/ndjson.js';
import { startStack } from '../fixtures/stack.js';

const version = (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const one = await startStack(t, { host: '127.0.0.2' });
const ca = await readFile(one.pki.caCertPath, 'utf8');
/** A plain HTTPS client (no master code) through the gateway with the master's certificate. */
function viaGateway(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number | undefined; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: one.host, port: one.port, ca, cert: one.master.certPem, key: one.master.keyPem, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('the agent announces its API version on every answer, through the gateway as well', async (t) => {
  const status = await one.agent.request('GET', '/v1/status');
  t.equal(status.headers['outpost-api-version'], String(API_VERSION));
  t.match(status.json(), { version, apiVersion: API_VERSION });
  const missing = await one.agent.request('GET', '/v1/jobs/no-such-job');
  t.equal(missing.status, 404);
  t.equal(missing.headers['outpost-api-version'], String(API_VERSION), 'error answers too');
  for (const path of ['/v1/status', '/healthz', '/v1/jobs/no-such-job']) {
    const r = await viaGateway(path);
    t.equal(r.headers['outpost-api-version'], String(API_VERSION), `the gateway passes it on (${path}, ${r.status})`);
  }
  t.match(JSON.parse((await viaGateway('/v1/status')).body), { version, apiVersion: API_VERSION });
});

t.test('the agent refuses a client announcing another API major; one announcing none (curl) is served', async (t) => {
  t.equal((await viaGateway('/v1/status')).status, 200, 'no header');
  t.equal((await viaGateway('/v1/status', { 'Outpost-Api-Version': `${API_VERSION}.7` })).status, 200, 'same major, other minor');
  const refused = await viaGateway('/v1/jobs', { 'Outpost-Api-Version': String(API_VERSION + 1) });
  t.equal(refused.status, 400);
  t.match(JSON.parse(refused.body), { error: { code: 'AGENT_API_VERSION_UNSUPPORTED', message: new RegExp(`announces API version ${API_VERSION + 1}; this agent speaks API ${API_VERSION}: upgrade the agent`) } });
  t.equal(refused.headers['outpost-api-version'], String(API_VERSION));
  const before = one.agent.log.length;
  const post = await viaGateway('/v1/jobs', { 'content-type': 'application/json', 'Outpost-Api-Version': '0' }, 'POST', JSON.stringify({ argv: ['/bin/true'] }));
  t.match(JSON.parse(post.body), { error: { code: 'AGENT_API_VERSION_UNSUPPORTED', message: /upgrade the master/ } });
  const jobs = (await one.agent.request('GET', '/v1/jobs')).json() as { jobs: unknown[] };
  t.equal(jobs.jobs.length, 0, 'no job was created');
  t.notMatch(one.agent.log.slice(before), /job accepted/);
});

t.test('outpost agent status shows the agent\'s and the master\'s version and API version', async (t) => {
  const text = await runOutpost(['agent', 'status', '--agent', one.url], { env: one.env });
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^agent version\\s+${version.replace(/\./g, '\\.')} \\(API ${API_VERSION}\\)\\nmaster version\\s+${version.replace(/\./g, '\\.')} \\(API ${API_VERSION}\\)\\n`));
  t.match(text.stdout, /^uptimeSeconds\s+\d+$/m, 'the rest follows');
  const json = await runOutpost(['agent', 'status', '--agent', one.url, '--json'], { env: one.env });
  t.match(JSON.parse(json.stdout), { version, apiVersion: API_VERSION, master: { version, apiVersion: API_VERSION } });
});

t.test('the master refuses agents announcing another API version, or none, and submits nothing to them', async (t) => {
  const { servers, env } = await startMtlsFleet(t, 'outpost-apiver-', [
    { host: '127.0.0.1' },
    { host: '127.0.0.3', apiVersion: String(API_VERSION + 1) },
    { host: '127.0.0.4', apiVersion: null },
  ]);
  const [good, newer, old] = servers as [MtlsServer, MtlsServer, MtlsServer];
  const r = await runOutpost(['job', 'run', '--json', '--agent', good.url, '--agent', newer.url, '--agent', old.url, '--', 'hello'], { env });
  t.equal(r.code, 1, r.stderr);
  const run = parseRunJson(r.stdout);
  const hosts = { get: (url: string) => run.host(url) };
  t.match(hosts.get(new URL(good.url).host), { state: 'succeeded' }, 'the compatible agent ran it');
  t.match(hosts.get(new URL(newer.url).host), { error: { code: 'MASTER_AGENT_INCOMPATIBLE', message: new RegExp(`agent speaks API ${API_VERSION + 1}, this master speaks API ${API_VERSION}: upgrade the master .*outpost ${version.replace(/\./g, '\\.')}`) } });
  t.match(hosts.get(new URL(old.url).host), { error: { code: 'MASTER_AGENT_INCOMPATIBLE', message: /announces no API version .*upgrade the agent/ } });
  t.same(newer.requests.map((q) => `${q.method} ${q.path}`), ['GET /v1/status'], 'only the check reached the newer agent');
  t.same(old.requests.map((q) => `${q.method} ${q.path}`), ['GET /v1/status'], 'and the older one');
  t.ok(good.requests.every((q) => q.apiVersion === String(API_VERSION)), 'every request announced the master\'s API version');
  const status = await runOutpost(['agent', 'status', '--agent', newer.url], { env });
  t.equal(status.code, 1);
  t.match(status.stderr, /MASTER_AGENT_INCOMPATIBLE: .*agent speaks API 2, this master speaks API 1/);
});

t.test('an agent refuses to start on a journal of a newer format, and changes nothing in dataDir', async (t) => {
  const agent = await startAgentProcess(t);
  const id = await agent.submit({ argv: ['/bin/true'] });
  await agent.waitDone(id);
  t.match(JSON.parse(await readFile(join(agent.dataDir, 'jobs', id, 'status'), 'utf8')), { v: STATUS_FORMAT, reason: 'exited', exitCode: 0 }, 'the supervisor\'s status file says its format');
  t.match(JSON.parse((await readFile(join(agent.dataDir, 'journal.jsonl'), 'utf8')).split('\n')[0]!), { v: STORE_FORMAT, t: 'create' }, 'so does the journal');
  await agent.kill('SIGTERM');
  // A newer release ran on this dataDir and wrote a line of its format.
  const journal = join(agent.dataDir, 'journal.jsonl');
  await writeFile(journal, `${await readFile(journal, 'utf8')}${JSON.stringify({ v: STORE_FORMAT + 1, t: 'create', job: { id: 'from-the-future' } })}\n`);
  const files = async () => {
    const names = (await readdir(agent.dataDir)).sort();
    return Promise.all(names.map(async (f) => ({ f, mtime: (await stat(join(agent.dataDir, f))).mtimeMs, text: f.endsWith('.jsonl') ? await readFile(join(agent.dataDir, f), 'utf8') : '' })));
  };
  const before = await files();
  t.notOk(before.some((f) => f.f === 'agent.lock'), 'the agent stopped cleanly');
  const r = await runOutpost(['agent', 'start', '--config', agent.configPath], { timeoutMs: 20_000 });
  t.equal(r.code, 1, `refused to start (${r.stdout})`);
  t.notMatch(r.stdout, /listening/);
  t.match(r.stderr, new RegExp(`AGENT_JOURNAL_TOO_NEW: .*journal\\.jsonl line \\d+ has format version ${STORE_FORMAT + 1}, written by a newer agent; this agent reads format ${STORE_FORMAT} and older`));
  t.same(await files(), before, 'the same files (no lock left behind), contents and times');
  t.same(await readdir(join(agent.dataDir, 'jobs')), [id], 'the job directory is still there');
});
