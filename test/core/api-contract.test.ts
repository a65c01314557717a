import t from 'tap';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { renderOpenApi } from '../../scripts/openapi-render.js';
import { SCHEMAS, ROUTES } from '../../core/api/routes.js';
import { jobRequestProblems, jobRequestSchema } from '../../core/api/job-request.js';

t.test('docs/openapi.yaml is the contract as it is now', async (t) => {
  const onDisk = readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8');
  t.equal(onDisk, renderOpenApi(), 'run `npm run openapi:doc` after changing core/api/');
});

t.test('every schema of the contract compiles in strict mode (a misspelt keyword fails here)', async (t) => {
  const defs = JSON.parse(JSON.stringify(SCHEMAS).replaceAll('#/components/schemas/', '#/$defs/')) as Record<string, object>;
  // strictSchema: an unknown keyword is an error; ajv's opinions beyond JSON Schema (types, required) are off.
  const ajv = new Ajv2020({ strictSchema: true, strictTypes: false, strictRequired: false, allowUnionTypes: true, validateFormats: false });
  ajv.addSchema({ $id: 'contract', $defs: defs });
  for (const name of Object.keys(defs)) t.doesNotThrow(() => ajv.compile({ $ref: `contract#/$defs/${name}` }), name);
  for (const r of ROUTES) {
    for (const a of Object.values(r.answers)) t.ok(a.body.includes('/') || a.body in SCHEMAS, `${r.operationId}: ${a.body} is a schema or a media type`);
    t.ok(r.requestBody === undefined || r.requestBody in SCHEMAS, `${r.operationId}: its request body is a schema`);
  }
});

t.test('the published JobRequest schema accepts exactly what the agent\'s validator accepts', async (t) => {
  const validate = new Ajv2020({ strict: false }).compile(jobRequestSchema());
  const bodies: unknown[] = [
    { command: 'echo hi' },
    { argv: ['ls', '-l'] },
    { script: 'echo', args: ['a'], interpreter: '/bin/sh' },
    { template: 'greet', inputs: { WHO: 'x', N: 3, B: true } },
    { command: 'x', env: { A: 'b', _z9: '' }, secretEnv: { TOKEN: 'api-token' }, cwd: '/tmp', runAs: 'batch', loginProfile: true },
    { command: 'x', credentialKey: 'k.1', processServer: 'web-1', timeoutSeconds: 5, maxOutputBytes: 10, description: 'd' },
    { command: 'x', runAs: 'DOMAIN$' },
    {},
    { command: '' },
    { command: 'a\u0000b' },
    { argv: [] },
    { argv: 'ls -l' },
    { argv: ['ok', 'n\u0000ul'] },
    { command: 'x', argv: ['y'] },
    { command: 'x', bogus: 1 },
    { command: 'x', cwd: 'relative' },
    { command: 'x', env: { 'BAD-NAME': 'v' } },
    { command: 'x', env: { A: 1 } },
    { command: 'x', secretEnv: { A: 'not a key!' } },
    { command: 'x', runAs: 'no spaces' },
    { command: 'x', timeoutSeconds: 0 },
    { command: 'x', timeoutSeconds: 1.5 },
    { command: 'x', loginProfile: 'yes' },
    { template: 'bad name' },
    { template: 'ok', inputs: { A: null } },
    { command: 'x', inputs: { A: 'b' } },
    'a string',
    null,
  ];
  // Rules the schema only describes in words (it cannot relate fields this way): the agent refuses these,
  // the schema lets them through.
  const agentOnly = new Set([JSON.stringify({ command: 'x', inputs: { A: 'b' } })]);
  for (const body of bodies) {
    const agent = jobRequestProblems(body).length === 0;
    const schema = validate(body);
    if (agentOnly.has(JSON.stringify(body))) t.same([schema, agent], [true, false], `only the agent refuses ${JSON.stringify(body)}`);
    else t.equal(schema, agent, `${JSON.stringify(body)}: schema and agent both ${agent ? 'accept' : 'refuse'} it`);
  }
});
