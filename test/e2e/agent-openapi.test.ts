/**
 * docs/openapi.yaml against a real agent: every route, every answer the document lists for it, and the
 * shape of every body the agent sends (JSON Schema 2020-12, with ajv). An answer the document does not
 * describe, a body that does not fit its schema, a documented header missing, or a documented answer that
 * this test never saw fails it — so the document cannot drift from the agent, nor the agent from it.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startAgentProcess, type RunningAgent } from '../fixtures/agent.js';
import { HEADERS } from '../../core/api/contract.js';

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}
interface Operation {
  responses: Record<string, { $ref?: string; headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
}

const doc = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Operation['responses'][string]> };
};
// The document as a schema of its own, so that answers are validated through its $refs. Formats (date-time)
// are not checked: ajv needs a plug-in for them, and the agent writes every time with toISOString().
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema(doc as object, 'openapi');

/** The documented operation for a request, with its path template. */
function operationFor(method: string, path: string): { template: string; op: Operation } | undefined {
  const bare = path.split('?')[0] as string;
  for (const [template, ops] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = ops[method.toLowerCase()];
    if (re.test(bare) && op) return { template, op };
  }
  return undefined;
}

const validators = new Map<string, ReturnType<typeof ajv.compile>>();
/** One compiled validator per schema of the document. */
function validatorFor(ref: string): ReturnType<typeof ajv.compile> {
  let v = validators.get(ref);
  if (!v) validators.set(ref, (v = ajv.compile({ $ref: `openapi${ref}` })));
  return v;
}

const seen = new Set<string>();

/** Checks one answer against the document; returns the response for the test's own assertions. */
function check(t: Test, method: string, path: string, res: Response): Response {
  const found = operationFor(method, path);
  if (!found) {
    t.fail(`${method} ${path} is not in docs/openapi.yaml`);
    return res;
  }
  const { template, op } = found;
  const range = `${String(res.status)[0]}XX`;
  let answer = op.responses[String(res.status)] ?? op.responses[range];
  if (!answer) {
    t.fail(`${method} ${template} answered ${res.status}, which the document does not list`);
    return res;
  }
  if (op.responses[String(res.status)]) seen.add(`${method} ${template} ${res.status}`);
  if (answer.$ref) answer = doc.components.responses[answer.$ref.split('/').pop() as string] as Operation['responses'][string];
  for (const name of Object.keys(answer.headers ?? {})) t.ok(res.headers[name] !== undefined, `${method} ${template} ${res.status} carries ${name}`);
  const [mediaType, media] = Object.entries(answer.content ?? {})[0] as [string, { schema: { $ref?: string } }];
  t.match(res.headers['content-type'] ?? '', new RegExp(`^${mediaType.replace('/', '\\/')}`), `${method} ${template} ${res.status} is ${mediaType}`);
  if (mediaType === 'application/json') {
    const validate = validatorFor(media.schema.$ref ?? '');
    const body: unknown = JSON.parse(res.text);
    if (!validate(body)) t.fail(`${method} ${template} ${res.status}: the body does not fit ${media.schema.$ref}`, { body, errors: validate.errors });
    else t.pass(`${method} ${template} ${res.status}: body fits ${media.schema.$ref}`);
  }
  return res;
}

/** One request to the agent's socket; an event stream is read until its first event, then closed. */
function call(agent: RunningAgent, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath: agent.socket, method, path, headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (res.headers['content-type']?.startsWith('text/event-stream') && text.includes('\n\n')) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const TESTER = { [HEADERS.clientSubject]: 'CN=tester' };

t.test('the real agent answers as docs/openapi.yaml says, on every route', async (t) => {
  const agent = await startAgentProcess(t, {
    config: {
      templates: [{ name: 'greet', description: 'says hello', command: 'echo "hello $WHO"', inputs: { WHO: { type: 'string', pattern: '[a-z]{1,20}', default: 'world' } } }],
      permissions: [{ name: 'tester', clients: { subjects: ['CN=tester'] }, adHoc: true, templates: ['*'], control: 'all' }],
      // A process server nobody listens for: /v1/status shows it, never reached.
      processServers: [{ name: 'nowhere', remoteHostName: '127.0.0.1', port: 9, credentialKey: 'none', hostKey: `SHA256:${'A'.repeat(43)}`, interpreterWhitelist: ['/bin/sh'] }],
    },
  });
  const go = async (method: string, path: string, body?: unknown, headers: Record<string, string> = TESTER): Promise<Response> => check(t, method, path, await call(agent, method, path, body, headers));
  const waitEnded = async (id: string): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      const j = JSON.parse((await call(agent, 'GET', `/v1/jobs/${id}`)).text) as { state: string };
      if (!['queued', 'running'].includes(j.state)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`job ${id} did not end`);
  };

  for (const path of ['/healthz', '/metrics', '/v1/whoami', '/v1/templates', '/v1/events']) t.equal((await go('GET', path)).status, 200, path);
  const status = JSON.parse((await go('GET', '/v1/status')).text) as { processServers: { name: string }[] };
  t.same(status.processServers.map((p) => p.name), ['nowhere'], 'the status shows a process server, whose shape was checked');

  const done = await go('POST', '/v1/jobs', { command: 'echo out; echo err >&2', env: { A: 'b' }, description: 'contract', cwd: '/', timeoutSeconds: 60 }, { ...TESTER, [HEADERS.idempotencyKey]: 'k-1' });
  t.equal(done.status, 201);
  const id = (JSON.parse(done.text) as { id: string }).id;
  t.equal((await go('POST', '/v1/jobs', { command: 'echo out; echo err >&2', env: { A: 'b' }, description: 'contract', cwd: '/', timeoutSeconds: 60 }, { ...TESTER, [HEADERS.idempotencyKey]: 'k-1' })).status, 200, 'a repeated key');
  t.equal((await go('POST', '/v1/jobs', { command: 'echo other' }, { ...TESTER, [HEADERS.idempotencyKey]: 'k-1' })).status, 409, 'the key with another request');
  t.equal((await go('POST', '/v1/jobs', { command: 'x', argv: ['y'], bogus: 1 })).status, 400, 'a bad body');
  t.equal((await go('POST', '/v1/jobs', { command: 'echo who' }, {})).status, 403, 'no identity, and agent.yaml has permissions');
  const tmpl = await go('POST', '/v1/jobs', { template: 'greet', inputs: { WHO: 'contract' } });
  t.equal(tmpl.status, 201);
  const script = await go('POST', '/v1/jobs', { script: 'echo "$1"\n', args: ['x'], interpreter: '/bin/sh', loginProfile: false, maxOutputBytes: 1000 });
  await waitEnded(id);
  await waitEnded((JSON.parse(tmpl.text) as { id: string }).id);
  await waitEnded((JSON.parse(script.text) as { id: string }).id);

  t.equal((await go('GET', '/v1/jobs')).status, 200);
  t.equal((await go('GET', '/v1/jobs?state=succeeded&limit=2')).status, 200);
  t.equal((await go('GET', '/v1/jobs?limit=0')).status, 400);
  for (const j of [id, (JSON.parse(tmpl.text) as { id: string }).id, (JSON.parse(script.text) as { id: string }).id]) t.equal((await go('GET', `/v1/jobs/${j}`)).status, 200);
  t.equal((await go('GET', '/v1/jobs/NOT-AN-ID')).status, 400);
  t.equal((await go('GET', '/v1/jobs/no-such-job')).status, 404);
  const output = await go('GET', `/v1/jobs/${id}/output?offset=0`);
  t.equal(output.text, 'out\nerr\n');
  t.equal((await go('GET', `/v1/jobs/${id}/output?offset=4&follow=1`)).text, 'err\n');
  t.equal((await go('GET', `/v1/jobs/${id}/output?offset=-1`)).status, 400);
  t.equal((await go('GET', '/v1/jobs/no-such-job/output')).status, 404);

  for (const action of ['cancel', 'abort']) {
    const long = JSON.parse((await go('POST', '/v1/jobs', { argv: ['sleep', '30'] })).text) as { id: string };
    t.equal((await go('POST', `/v1/jobs/${long.id}/${action}`)).status, 202, action);
    await waitEnded(long.id);
    t.equal((await go('POST', `/v1/jobs/${long.id}/${action}`)).status, 409, `${action} of an ended job`);
  }
  t.equal((await go('POST', '/v1/jobs/no-such-job/cancel')).status, 404);
  // A method a documented path does not have: 405, an ErrorBody, and Allow naming the methods it has.
  const wrong = await call(agent, 'DELETE', '/v1/jobs', undefined, TESTER);
  t.equal(wrong.status, 405);
  t.equal(wrong.headers.allow, 'GET, POST');
  t.ok(validatorFor('#/components/schemas/ErrorBody')(JSON.parse(wrong.text)), '405 is an ErrorBody');

  // Every answer the document lists was seen above.
  const listed = Object.entries(doc.paths).flatMap(([template, ops]) =>
    Object.entries(ops).flatMap(([method, op]) => Object.keys(op.responses).filter((s) => /^\d+$/.test(s)).map((s) => `${method.toUpperCase()} ${template} ${s}`)),
  );
  t.same(listed.filter((a) => !seen.has(a)), [], 'every documented answer was exercised');
});
