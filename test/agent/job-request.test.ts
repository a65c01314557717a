import t from 'tap';
import { checkJobId, parseJobRequest, parseListQuery, toJobSpec } from '../../agent/job-request.js';
import { newJobId, publicView, stateForExit } from '../../agent/job-record.js';
import { randomBytes } from 'node:crypto';

t.test('ok: the three kinds', async (t) => {
  t.equal(toJobSpec('a', parseJobRequest({ command: 'true' }), { timeoutSeconds: 0 }).kind, 'command');
  t.equal(toJobSpec('a', parseJobRequest({ argv: ['/bin/true'] }), { timeoutSeconds: 0 }).kind, 'argv');
  const s = toJobSpec('a', parseJobRequest({ script: 'x', args: ['1'] }), { runAs: 'batch', timeoutSeconds: 30 });
  t.match(s, { kind: 'script', runAs: 'batch', timeoutSeconds: 30, args: ['1'] });
});

t.test('fail: unknown fields, conflicts, NUL, bad names', async (t) => {
  const bad: unknown[] = [
    {},
    { command: 'a', argv: ['b'] },
    { command: 'a', extra: 1 },
    { command: 'a', args: ['x'] },
    { argv: ['/bin/true'], interpreter: '/bin/sh' },
    { command: 'a\u0000b' },
    { argv: [] },
    { command: 'a', env: { '1X': 'y' } },
    { command: 'a', timeoutSeconds: 0 },
    { command: 'a', runAs: 'DOMAIN\\user' },
    { command: 'a', cwd: '../etc' },
    [],
    'command',
    null,
  ];
  for (const body of bad) t.throws(() => parseJobRequest(body), { code: 'AGENT_BAD_REQUEST' }, JSON.stringify(body));
});

t.test('ids: issued ids validate, path tricks do not', async (t) => {
  const id = newJobId(Date.now(), randomBytes(5));
  t.equal(checkJobId(id), id);
  for (const bad of ['', '..', '../x', 'a/b', 'A', '-a', 'a%2f', 'x'.repeat(65), 'a\u0000']) {
    t.throws(() => checkJobId(bad), { code: 'AGENT_INVALID_JOB_ID' }, JSON.stringify(bad));
  }
});

t.test('list query: strict too', async (t) => {
  t.same(parseListQuery(new URLSearchParams('state=running&limit=5')), { state: 'running', limit: 5 });
  t.throws(() => parseListQuery(new URLSearchParams('state=done')), { code: 'AGENT_BAD_REQUEST' });
  t.throws(() => parseListQuery(new URLSearchParams('limit=5000')), { code: 'AGENT_BAD_REQUEST' });
  t.throws(() => parseListQuery(new URLSearchParams('sort=id')), { code: 'AGENT_BAD_REQUEST' });
});

t.test('states from exits, and the public view hides runtime and script text', async (t) => {
  const at = new Date().toISOString();
  t.equal(stateForExit({ exitCode: 0, signal: null, reason: 'exited', endedAt: at }), 'succeeded');
  t.equal(stateForExit({ exitCode: 1, signal: null, reason: 'exited', endedAt: at }), 'failed');
  t.equal(stateForExit({ exitCode: null, signal: 'SIGTERM', reason: 'timeout', endedAt: at }), 'timed_out');
  t.equal(stateForExit({ exitCode: null, signal: 'SIGKILL', reason: 'abort', endedAt: at }), 'cancelled');
  t.equal(stateForExit({ exitCode: null, signal: null, reason: 'lost', endedAt: at }), 'lost');
  const view = publicView({
    id: 'a', state: 'running', spec: { id: 'a', kind: 'script', script: 'secret-ish text' }, executor: 'local', createdAt: at,
    startedAt: at, endedAt: null, exitCode: null, signal: null, endReason: null, message: null,
    runtime: { supervisorPid: 1 }, ranOn: null, submittedBy: null,
  });
  t.notOk('runtime' in view);
  t.notOk('script' in view);
  t.equal(view.scriptBytes, 15);
});
