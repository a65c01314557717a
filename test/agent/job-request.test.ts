import t from 'tap';
import { checkJobId, jobRequestProblems, parseJobRequest, parseListQuery, toJobSpec } from '../../agent/job-request.js';
import { newJobId, publicView, stateForExit } from '../../agent/job-record.js';
import { randomBytes } from 'node:crypto';

t.test('ok: the three kinds', async (t) => {
  t.equal(toJobSpec('a', parseJobRequest({ command: 'true' }), { timeoutSeconds: 0 }).kind, 'command');
  t.equal(toJobSpec('a', parseJobRequest({ argv: ['/bin/true'] }), { timeoutSeconds: 0 }).kind, 'argv');
  const s = toJobSpec('a', parseJobRequest({ script: 'x', args: ['1'] }), { runAs: 'batch', timeoutSeconds: 30 });
  t.match(s, { kind: 'script', runAs: 'batch', timeoutSeconds: 30, args: ['1'] });
  t.equal(toJobSpec('a', parseJobRequest({ command: 'true', maxOutputBytes: 4096 }), { timeoutSeconds: 0 }).maxOutputBytes, 4096);
  t.notOk('maxOutputBytes' in toJobSpec('a', parseJobRequest({ command: 'true' }), { timeoutSeconds: 0 }), 'only what the client asked for is recorded');
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
  const withEnv = publicView({
    id: 'a', state: 'queued', spec: { id: 'a', kind: 'command', command: 'x', env: { B: 'value-b', A: 'value-a' }, secretEnv: { PW: 'db-pw' } }, executor: 'local',
    createdAt: at, startedAt: null, endedAt: null, exitCode: null, signal: null, endReason: null, message: null, runtime: null, ranOn: null, submittedBy: null,
  });
  t.notOk('env' in withEnv, 'env values are never shown');
  t.same(withEnv.envNames, ['A', 'B']);
  t.same(withEnv.secretEnv, { PW: 'db-pw' }, 'which key feeds which name');
  t.notMatch(JSON.stringify(withEnv), /value-/);
});

t.test('problems name the bad field, all of them at once, with zod-compatible wording', async (t) => {
  const cases: [unknown, string][] = [
    [{ command: 'a', extra: 1, other: 2 }, 'extra: unknown key; other: unknown key'],
    [{ command: 'a', extra: 1, argv: ['x'] }, 'extra: unknown key; (root): give exactly one of command, argv, script or template'],
    [{ argv: [1] }, 'argv[0]: Invalid input: expected string, received number'],
    [{ argv: [] }, 'argv: Too small: expected array to have >=1 items'],
    [{ command: 'a', env: { '1X': 'y', A: 'x\u0000' } }, 'env.1X: Invalid key in record; env.A: must not contain NUL'],
    [{ command: 'a', cwd: 'x\u0000' }, 'cwd: must not contain NUL; cwd: must be an absolute path'],
    [{ command: 'a', timeoutSeconds: 1.5 }, 'timeoutSeconds: Invalid input: expected int, received number'],
    [{ command: 'a', timeoutSeconds: 1e10 }, 'timeoutSeconds: Too big: expected number to be <=31536000'],
    [{ command: 'a', maxOutputBytes: 0 }, 'maxOutputBytes: Too small: expected number to be >=1'],
    [{ command: 'a', maxOutputBytes: '1k' }, 'maxOutputBytes: Invalid input: expected number, received string'],
    [{ command: '' }, 'command: Too small: expected string to have >=1 characters'],
    [{ command: 'a', description: 'x'.repeat(1025) }, 'description: Too big: expected string to have <=1024 characters'],
    [{ command: 'a', loginProfile: 'yes' }, 'loginProfile: Invalid input: expected boolean, received string'],
    [{ command: 'a', env: [] }, 'env: Invalid input: expected record, received array'],
    [{ command: 'a', secretEnv: { '1X': 'k', A: 'bad key' } }, 'secretEnv.1X: Invalid key in record; secretEnv.A: must be a credential key'],
    [{ command: 'a', env: { PW: 'x' }, secretEnv: { PW: 'k' } }, 'secretEnv.PW: is also in env; give each variable once'],
    // A field that is itself bad is reported alone: combinations are judged on valid fields only.
    [{ command: 5, argv: ['x'] }, 'command: Invalid input: expected string, received number'],
    [null, '(root): Invalid input: expected object, received null'],
    [JSON.parse('{"command":"a","__proto__":1}'), '__proto__: unknown key'],
    [{ command: 'a', toString: 'x' }, 'toString: unknown key'],
  ];
  for (const [body, message] of cases) {
    t.equal(jobRequestProblems(body).map((p) => `${p.path}: ${p.message}`).join('; '), message, JSON.stringify(body)?.slice(0, 60));
    t.throws(() => parseJobRequest(body), { code: 'AGENT_BAD_REQUEST', message }, JSON.stringify(body)?.slice(0, 60));
  }
  const full = {
    script: 'echo', args: ['a'], interpreter: 'bash', env: { A: 'b' }, cwd: '/tmp', runAs: 'batch', loginProfile: true,
    timeoutSeconds: 5, description: 'd', processServer: 'db1', credentialKey: 'k', secretEnv: { PW: 'db-pw' },
  };
  t.same(parseJobRequest(full), full);
});

t.test('list query problems', async (t) => {
  t.same(parseListQuery(new URLSearchParams('')), { limit: 100 });
  t.same(parseListQuery(new URLSearchParams('after=abc-1&state=lost&limit=1000')), { limit: 1000, state: 'lost', after: 'abc-1' });
  t.throws(() => parseListQuery(new URLSearchParams('limit=abc')), { message: 'limit: Invalid input: expected number, received NaN' });
  t.throws(() => parseListQuery(new URLSearchParams('limit=2.5&after=A')), { message: 'limit: Invalid input: expected int, received number; after: must be a job id' });
  t.throws(() => parseListQuery(new URLSearchParams('limit=')), { message: 'limit: Too small: expected number to be >=1' });
});
