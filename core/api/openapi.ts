/**
 * The OpenAPI 3.1 document of the agent's API, built from the contract (contract.ts, routes.ts). Written to
 * docs/openapi.yaml by `npm run openapi:doc`; a test fails when the file and this differ. Pure.
 */
import { API_VERSION, HEADERS } from './contract.js';
import { ROUTES, SCHEMAS, pathParameters, type Answer, type Route } from './routes.js';

const HEADER_DOCS: Readonly<Record<string, string>> = {
  [HEADERS.apiVersion]: 'The API version this side speaks (`MAJOR` or `MAJOR.MINOR`). The agent sends it on every answer; a client that sends another major gets 400 AGENT_API_VERSION_UNSUPPORTED.',
  [HEADERS.idempotencyKey]: 'At most 128 visible ASCII characters. The same key with the same request returns the existing job (200); with another request, 409.',
  [HEADERS.idempotentReplayed]: '`true`: this answer is the job made by an earlier submission with the same key.',
  [HEADERS.jobState]: 'The job\'s state when the answer started.',
  [HEADERS.outputOffset]: 'The offset of the first byte sent.',
  [HEADERS.lastEventId]: 'The id of the last event received; events after it are sent first, or `resync` when they are gone.',
  location: 'The job\'s path, /v1/jobs/{id}.',
};

function response(a: Answer): Record<string, unknown> {
  const headers: Record<string, unknown> = { [HEADERS.apiVersion]: { $ref: '#/components/headers/ApiVersion' } };
  for (const h of a.headers ?? []) headers[h] = { description: HEADER_DOCS[h] ?? h, schema: { type: 'string' } };
  const content = a.body.includes('/') ? { [a.body]: { schema: { type: 'string' } } } : { 'application/json': { schema: { $ref: `#/components/schemas/${a.body}` } } };
  return { description: a.description, headers, content };
}

function operation(r: Route): Record<string, unknown> {
  const parameters = [
    ...Object.entries(pathParameters(r.path)).map(([name, p]) => ({ name, in: 'path', required: true, ...p })),
    ...Object.entries(r.query ?? {}).map(([name, p]) => ({ name, in: 'query', required: false, ...p })),
    ...(r.requestHeaders ?? []).map((name) => ({ name, in: 'header', required: false, description: HEADER_DOCS[name] ?? name, schema: { type: 'string' } })),
    { $ref: '#/components/parameters/ApiVersion' },
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, a] of Object.entries(r.answers)) responses[status] = response(a);
  responses['4XX'] = { $ref: '#/components/responses/Refused' };
  responses['5XX'] = { $ref: '#/components/responses/Unavailable' };
  return {
    operationId: r.operationId,
    summary: r.summary,
    parameters,
    ...(r.requestBody ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${r.requestBody}` } } } } } : {}),
    responses,
  };
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Outpost agent API',
      version: `${API_VERSION}`,
      description:
        `The HTTP API of the Outpost agent, API version ${API_VERSION} (releases that keep the wire format keep it). The agent listens on loopback or a Unix ` +
        'socket only; clients reach it through the gateway, which requires a client certificate, applies its policy (read-only clients may only GET) ' +
        'and passes the client\'s identity on. Generated from core/api/ by `npm run openapi:doc`; docs/agent.md explains the behaviour.',
    },
    servers: [{ url: 'https://agent-host:8443', description: 'The gateway in front of an agent.' }],
    paths,
    components: {
      schemas: SCHEMAS,
      responses: {
        Refused: response({ description: 'Refused; `error.code` says why (ERRORS.md lists every code).', body: 'ErrorBody' }),
        Unavailable: response({ description: 'The agent cannot serve this now (queue full, disk low, shutting down, …); see `error.code`, and Retry-After when given.', body: 'ErrorBody' }),
      },
      headers: { ApiVersion: { description: HEADER_DOCS[HEADERS.apiVersion], schema: { type: 'string' } } },
      parameters: { ApiVersion: { name: HEADERS.apiVersion, in: 'header', required: false, description: HEADER_DOCS[HEADERS.apiVersion], schema: { type: 'string', pattern: '^\\d{1,6}(\\.\\d{1,6})?$' } } },
    },
  };
}
