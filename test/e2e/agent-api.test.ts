/**
 * The agent as a real process behind its Unix socket: jobs of each kind with real exit codes and output,
 * live follow, SSE events, strict validation (bad JSON, unknown fields, traversal ids, interpreters outside
 * the whitelist), shell metacharacters staying inert, status, metrics and health.
 */
import t from 'tap';
import http from 'node:http';
import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';
import { waitFor } from '../fixtures/wait.js';

const agent = await startAgentProcess(t, {
  config: { interpreterWhitelist: ['/bin/sh', '/bin/bash'], localInterpreter: { bash: '/bin/bash' }, maxConcurrentJobs: 4 },
});

t.test('a command runs under /bin/sh -c with its exit code and combined output', async (t) => {
  const id = await agent.submit({ command: 'echo out; echo err >&2; exit 7', description: 'exit seven' });
  t.match(id, /^[a-z0-9-]+$/);
  const job = await agent.waitDone(id);
  t.equal(job.state, 'failed');
  t.equal(job.exitCode, 0 + 7);
  t.equal(job.description, 'exit seven');
  t.equal(await agent.output(id), 'out\nerr\n');
  t.equal(job.outputBytes, 8, 'the record says how much output there is');
});

t.test('a succeeding job, env and cwd', async (t) => {
  const id = await agent.submit({ command: 'echo "$GREETING from $(pwd) as $OUTPOST_JOB_ID"', env: { GREETING: 'hi there' }, cwd: '/tmp' });
  const job = await agent.waitDone(id);
  t.equal(job.state, 'succeeded');
  t.equal(job.exitCode, 0);
  t.equal(await agent.output(id), `hi there from /tmp as ${id}\n`);
});

t.test('a missing program or cwd fails the job with exit 127 and says why in its output', async (t) => {
  const noProgram = await agent.submit({ argv: ['/nonexistent/program'] });
  t.match(await agent.waitDone(noProgram), { state: 'failed', exitCode: 127 });
  t.match(await agent.output(noProgram), /cannot execute \/nonexistent\/program: No such file/);
  const noCwd = await agent.submit({ command: 'echo never', cwd: '/nonexistent/dir' });
  t.match(await agent.waitDone(noCwd), { state: 'failed', exitCode: 127 });
  t.match(await agent.output(noCwd), /cannot change to directory \/nonexistent\/dir/);
});

t.test('argv runs without a shell: metacharacters stay inert', async (t) => {
  const marker = `${agent.dir}/pwned`;
  const id = await agent.submit({ argv: ['/bin/echo', `$(touch ${marker})`, ';', 'touch', marker, '`id`', '|', '&&', '>x'] });
  await agent.waitDone(id);
  t.equal(await agent.output(id), `$(touch ${marker}) ; touch ${marker} \`id\` | && >x\n`);
  const fs = await import('node:fs');
  t.notOk(fs.existsSync(marker), 'nothing was executed by a shell');
});

t.test('script args are positional parameters, never spliced into shell text', async (t) => {
  const id = await agent.submit({
    script: 'printf "%s|" "$#" "$1" "$2"; echo',
    interpreter: 'bash',
    args: ['a b; echo INJECTED', '$(echo INJECTED)'],
  });
  const job = await agent.waitDone(id);
  t.equal(job.state, 'succeeded');
  t.equal(await agent.output(id), '2|a b; echo INJECTED|$(echo INJECTED)|\n');
});

t.test('output from an offset, and follow=1 streams until the job ends', async (t) => {
  const id = await agent.submit({ command: 'for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done' });
  const received: string[] = [];
  const full = await new Promise<string>((resolve, reject) => {
    http
      .get({ socketPath: agent.socket, path: `/v1/jobs/${id}/output?follow=1` }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          received.push(d);
          text += d;
        });
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  t.equal(full, 'line1\nline2\nline3\nline4\nline5\n');
  t.ok(received.length > 1, `arrived in ${received.length} pieces while the job ran`);
  const fromSix = await agent.request('GET', `/v1/jobs/${id}/output?offset=6`);
  t.equal(fromSix.text, 'line2\nline3\nline4\nline5\n');
  t.equal(fromSix.headers['x-outpost-offset'], '6');
  t.equal(fromSix.headers['x-outpost-job-state'], 'succeeded');
  const bad = await agent.request('GET', `/v1/jobs/${id}/output?offset=-1`);
  t.equal(bad.status, 400);
});

t.test('a follower that stops reading and goes away releases the output file (API and status page)', async (t) => {
  // Several MB at once, then the job keeps running: the agent's writes back up against the paused client.
  const id = await agent.submit({ command: 'head -c 8000000 /dev/zero | tr "\\0" x; sleep 30' });
  t.teardown(() => agent.request('POST', `/v1/jobs/${id}/abort`).then(() => undefined, () => undefined));
  const outputFile = join(agent.dataDir, 'jobs', id, 'output');
  const openByAgent = async (): Promise<number> => {
    const fds = await readdir(`/proc/${agent.child.pid}/fd`).catch(() => [] as string[]);
    const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${agent.child.pid}/fd/${fd}`).catch(() => '')));
    return targets.filter((p) => p === outputFile).length;
  };
  await waitFor(async () => ((await stat(outputFile).catch(() => null))?.size ?? 0) >= 8_000_000, 20_000);
  for (const path of [`/v1/jobs/${id}/output?follow=1`, `/ui/jobs/${id}`]) {
    const req = http.get({ socketPath: agent.socket, path });
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    res.pause(); // reads nothing more: the agent's socket buffer fills and it waits to write
    await waitFor(async () => (await openByAgent()) === 1, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    req.destroy();
    await waitFor(async () => (await openByAgent()) === 0, 10_000).catch(() => undefined);
    t.equal(await openByAgent(), 0, `${path}: the agent closed the output file once the client was gone`);
  }
});

t.test('events stream job state changes as server-sent events', async (t) => {
  const events: string[] = [];
  const req = http.get({ socketPath: agent.socket, path: '/v1/events' });
  const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
  t.match(res.headers['content-type'], /text\/event-stream/);
  res.setEncoding('utf8');
  res.on('data', (d: string) => events.push(d));
  const id = await agent.submit({ command: 'true' });
  await agent.waitDone(id);
  await waitFor(() => new RegExp(`"id":"${id}","state":"succeeded"`).test(events.join('')), 10_000, 'the succeeded event', 20).catch(() => undefined);
  req.destroy();
  const text = events.join('');
  t.match(text, new RegExp(`event: job\\ndata: \\{"id":"${id}","state":"running"`));
  t.match(text, new RegExp(`"id":"${id}","state":"succeeded"`));

  // Reconnect with the last id seen: what happened meanwhile is replayed; a stranger id asks for a resync.
  const lastId = [...text.matchAll(/^id: (\S+)$/gm)].pop()?.[1] as string;
  const missed = await agent.submit({ command: 'true' });
  await agent.waitDone(missed);
  const replay = async (lastEventId: string): Promise<string> => {
    const r = http.get({ socketPath: agent.socket, path: '/v1/events', headers: { 'last-event-id': lastEventId } });
    const got = await new Promise<http.IncomingMessage>((resolve) => r.on('response', resolve));
    let body = '';
    got.setEncoding('utf8').on('data', (d: string) => (body += d));
    // Replayed events come in the first chunk; a resync is one event. Then give stray duplicates a moment.
    await waitFor(() => /\n\n/.test(body), 10_000, 'the first event', 20).catch(() => undefined);
    await new Promise((r2) => setTimeout(r2, 100));
    r.destroy();
    return body;
  };
  const again = await replay(lastId);
  t.match(again, new RegExp(`"id":"${missed}","state":"succeeded"`));
  t.notMatch(again, new RegExp(`"id":"${id}"`), 'nothing already seen is sent twice');
  t.match(await replay('0000-1'), /event: resync/);
});

t.test('requests are validated strictly', async (t) => {
  const cases: [string, unknown, number, string][] = [
    ['bad JSON', '{"command":', 400, 'AGENT_BAD_JSON'],
    ['unknown field', { command: 'true', sudo: true }, 400, 'AGENT_BAD_REQUEST'],
    ['two kinds', { command: 'true', argv: ['/bin/true'] }, 400, 'AGENT_BAD_REQUEST'],
    ['no kind', { env: {} }, 400, 'AGENT_BAD_REQUEST'],
    ['NUL in command', { command: 'echo a\u0000b' }, 400, 'AGENT_BAD_REQUEST'],
    ['bad env name', { command: 'true', env: { 'A=B': 'x' } }, 400, 'AGENT_BAD_REQUEST'],
    ['relative cwd', { command: 'true', cwd: 'tmp' }, 400, 'AGENT_BAD_REQUEST'],
    ['interpreter outside the whitelist', { command: 'print(1)', interpreter: '/usr/bin/python3' }, 403, 'AGENT_INTERPRETER_NOT_ALLOWED'],
    ['script interpreter outside the whitelist', { script: 'x', interpreter: '/usr/bin/perl' }, 403, 'AGENT_INTERPRETER_NOT_ALLOWED'],
    ['unknown process server', { command: 'true', processServer: 'nowhere' }, 400, 'AGENT_PROCESS_SERVER_UNKNOWN'],
    ['runAs without run-as configured', { command: 'true', runAs: 'nobody' }, 403, 'AGENT_RUNAS_NOT_ALLOWED'],
  ];
  for (const [name, body, status, code] of cases) {
    const res = await agent.request('POST', '/v1/jobs', body);
    t.equal(res.status, status, `${name}: status`);
    t.equal(res.json().error?.code, code, `${name}: code`);
  }
  const wrongType = await agent.request('POST', '/v1/jobs', 'command=true', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(wrongType.status, 415);
  const unknownKey = await agent.request('POST', '/v1/jobs', { command: 'true', sudo: true });
  t.match(unknownKey.json().error?.message, /sudo: unknown key/);
});

t.test('ids are validated: no traversal, no strangers', async (t) => {
  for (const path of ['/v1/jobs/..%2F..%2Fetc', '/v1/jobs/%2e%2e', '/v1/jobs/UPPER', '/v1/jobs/a_b/output', '/v1/jobs/x%00y']) {
    const res = await agent.request('GET', path);
    t.equal(res.status, 400, path);
    t.equal(res.json().error?.code, 'AGENT_INVALID_JOB_ID', path);
  }
  const traversal = await agent.request('GET', '/v1/jobs/../../etc/passwd');
  t.not(traversal.status, 200, 'a dot-dot path reaches nothing');
  const missing = await agent.request('GET', '/v1/jobs/abc-123');
  t.equal(missing.status, 404);
  t.equal(missing.json().error?.code, 'AGENT_JOB_NOT_FOUND');
});

t.test('listing, 404/405, cancel of a finished job, status, health and metrics', async (t) => {
  const id = await agent.submit({ argv: ['/bin/true'] });
  await agent.waitDone(id);
  const list = (await agent.request('GET', '/v1/jobs?state=succeeded&limit=2')).json().jobs as { id: string; state: string }[];
  t.ok(list.length >= 1 && list.length <= 2);
  t.ok(list.every((j) => j.state === 'succeeded'));
  t.equal((await agent.request('GET', '/v1/jobs?limit=0')).status, 400);
  t.equal((await agent.request('GET', '/v1/jobs?color=red')).status, 400);
  const notFound = await agent.request('GET', '/v2/nothing');
  t.equal(notFound.status, 404);
  t.equal(notFound.json().error?.code, 'AGENT_NOT_FOUND');
  const wrongMethod = await agent.request('DELETE', `/v1/jobs/${id}`);
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers.allow, 'GET');
  const late = await agent.request('POST', `/v1/jobs/${id}/cancel`);
  t.equal(late.status, 409);
  t.equal(late.json().error?.code, 'AGENT_JOB_FINISHED');
  const status = (await agent.request('GET', '/v1/status')).json();
  t.match(status, { version: String, jobs: { running: Number, queued: Number }, capacity: { maxConcurrentJobs: 4 }, processServers: [] });
  t.same((await agent.request('GET', '/healthz')).json(), { status: 'ok' });
  const metrics = (await agent.request('GET', '/metrics')).text;
  t.match(metrics, /outpost_agent_jobs_finished_total\{state="succeeded"\} \d+/);
  t.match(metrics, /outpost_agent_http_requests_total/);
  const page = await agent.request('GET', '/');
  t.equal(page.status, 200);
  t.match(page.headers['content-security-policy'], /default-src 'none'/);
});

t.test('submittedBy is recorded from the gateway headers', async (t) => {
  const id = await agent.submit({ command: 'true' }, {
    'x-outpost-client-subject': 'CN=master',
    'x-outpost-client-thumbprint': 'AB'.repeat(32),
    'x-forwarded-for': '192.0.2.10',
  });
  const job = await agent.waitDone(id);
  t.same(job.submittedBy, { subject: 'CN=master', thumbprint: 'AB'.repeat(32), address: '192.0.2.10' });
});

t.test('a client that sends half a body and goes away is an info line, not an internal error with a stack', async (t) => {
  const net = await import('node:net');
  const before = agent.log.length;
  for (const path of ['/v1/jobs', '/v1/jobs/no-such-job/cancel']) {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(agent.socket!, () => {
        socket.write(`POST ${path} HTTP/1.1\r\nhost: agent\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"command":`);
        // The agent has read the head and part of the body when the client disappears.
        setTimeout(() => socket.destroy(), 200);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
  }
  const deadline = Date.now() + 60_000;
  const seen = (): number => (agent.log.slice(before).match(/client went away/g) ?? []).length;
  while (seen() < 2 && /request failed/.test(agent.log.slice(before)) === false && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // Both requests have been handled once the agent answers a later one on its single event loop.
  t.equal((await agent.request('GET', '/healthz')).status, 200);
  const log = agent.log.slice(before);
  t.notMatch(log, /AGENT_INTERNAL/, 'not logged as an internal error');
  t.notMatch(log, /"stack"/, 'no stack trace');
  t.match(log, /"level":"info","message":"request cut short: the client went away"/);
  t.equal(seen(), 2, 'one line per aborted request');
});
