/**
 * The agent API's routes, with every answer a client must expect, and its bodies as JSON Schemas
 * (contract.ts has them as types): what docs/openapi.yaml is generated from (openapi.ts). Only the
 * document's generator and the tests load this module. Pure.
 */
import { HEADERS, JOB_ID_PATTERN, JOB_STATES } from './contract.js';
import { jobRequestSchema } from './job-request.js';

// ---- JSON Schemas ------------------------------------------------------------------------------------

const nullable = (type: string): Record<string, unknown> => ({ type: [type, 'null'] });
const obj = (properties: Record<string, unknown>, required: readonly string[], more: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'object',
  properties,
  required: [...required],
  additionalProperties: false,
  ...more,
});
const ref = (name: string): Record<string, unknown> => ({ $ref: `#/components/schemas/${name}` });

const jobFields = {
  id: { type: 'string', pattern: JOB_ID_PATTERN.source },
  state: { enum: [...JOB_STATES] },
  createdAt: { type: 'string', format: 'date-time' },
  startedAt: nullable('string'),
  endedAt: nullable('string'),
  exitCode: nullable('integer'),
  signal: nullable('string'),
  endReason: { anyOf: [{ enum: ['exited', 'timeout', 'cancel', 'abort', 'lost'] }, { type: 'null' }] },
  message: nullable('string'),
  ranOn: { anyOf: [obj({ host: { type: 'string' }, user: { type: 'string' } }, ['host', 'user']), { type: 'null' }] },
  executor: { type: 'string', description: '`local`, or `ssh:<process server>`.' },
  description: { type: 'string' },
  outputTruncated: { const: true, description: 'Present once the output was cut (maxOutputBytes, or a full disk): it ends with a marker line.' },
};
const JOB_REQUIRED = ['id', 'state', 'createdAt', 'startedAt', 'endedAt', 'exitCode', 'signal', 'endReason', 'message', 'ranOn'] as const;

export const SCHEMAS: Readonly<Record<string, Record<string, unknown>>> = {
  ErrorBody: obj(
    { error: obj({ code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]+$' }, message: { type: 'string' }, details: { type: 'object' } }, ['code', 'message']) },
    ['error'],
  ),
  JobRequest: jobRequestSchema(),
  JobAccepted: obj({ id: jobFields.id, state: jobFields.state }, ['id', 'state']),
  JobListItem: obj(jobFields, JOB_REQUIRED),
  JobList: obj({ jobs: { type: 'array', items: ref('JobListItem') } }, ['jobs']),
  Job: obj(
    {
      ...jobFields,
      submittedBy: { anyOf: [obj({ subject: { type: 'string' }, thumbprint: { type: 'string' }, address: { type: 'string' } }, []), { type: 'null' }] },
      idempotencyKey: { type: 'string' },
      template: obj({ name: { type: 'string' }, inputs: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] }, description: 'Secret inputs masked.' } }, ['name', 'inputs']),
      kind: { enum: ['command', 'argv', 'script'] },
      command: { type: 'string' },
      argv: { type: 'array', items: { type: 'string' } },
      interpreter: { type: 'string' },
      args: { type: 'array', items: { type: 'string' } },
      envNames: { type: 'array', items: { type: 'string' }, description: 'The names of the variables given in env (values are never shown).' },
      secretEnv: { type: 'object', additionalProperties: { type: 'string' }, description: 'Variable name → credential key (never a value).' },
      scriptBytes: { type: 'integer', minimum: 0 },
      cwd: { type: 'string' },
      runAs: { type: 'string' },
      loginProfile: { type: 'boolean' },
      timeoutSeconds: { type: 'integer' },
      maxOutputBytes: { type: 'integer' },
      credentialKey: { type: 'string' },
      processServer: { type: 'string' },
      outputBytes: { type: 'integer', minimum: 0, description: 'The size of the output so far (all of it once the job has ended), as GET /v1/jobs/{id}/output serves it.' },
    },
    [...JOB_REQUIRED, 'executor', 'submittedBy', 'kind', 'outputBytes'],
  ),
  Health: obj({ status: { const: 'ok' } }, ['status']),
  Status: obj(
    {
      version: { type: 'string' },
      apiVersion: { type: 'integer' },
      uptimeSeconds: { type: 'integer', minimum: 0 },
      jobs: obj({ running: { type: 'integer' }, queued: { type: 'integer' }, total: { type: 'integer' } }, ['running', 'queued', 'total']),
      capacity: obj({ maxConcurrentJobs: { type: 'integer' }, queueLimit: { type: 'integer' } }, ['maxConcurrentJobs', 'queueLimit']),
      launcher: obj({ running: { type: 'boolean' }, pid: nullable('integer'), lastError: nullable('string') }, ['running', 'pid', 'lastError']),
      disk: obj({ freeBytes: nullable('integer'), floorBytes: { type: 'integer' }, ok: { type: 'boolean' } }, ['freeBytes', 'floorBytes', 'ok'], { description: 'Free space of dataDir against minFreeBytes.' }),
      store: obj({ lastError: { anyOf: [obj({ code: { type: 'string' }, message: { type: 'string' }, at: { type: 'string' } }, ['code', 'message', 'at']), { type: 'null' }], description: 'Why the last journal write failed, until one succeeds.' } }, ['lastError']),
      processServers: {
        type: 'array',
        items: obj(
          {
            name: { type: 'string' },
            host: { type: 'string' },
            port: { type: 'integer' },
            reachable: nullable('boolean'),
            lastConnectAt: nullable('string'),
            lastError: { anyOf: [obj({ code: { type: 'string' }, message: { type: 'string' } }, ['code', 'message']), { type: 'null' }] },
          },
          ['name', 'host', 'port', 'reachable', 'lastConnectAt', 'lastError'],
        ),
      },
    },
    ['version', 'apiVersion', 'uptimeSeconds', 'jobs', 'capacity', 'launcher', 'disk', 'store', 'processServers'],
  ),
  WhoAmI: obj(
    {
      identity: { anyOf: [{ type: 'object' }, { type: 'null' }], description: 'The client as the gateway vouched for it (certificate subject, thumbprint, address).' },
      restricted: { type: 'boolean', description: 'false when agent.yaml has no permissions: section.' },
      rule: nullable('string'),
      grants: { anyOf: [{ type: 'object' }, { type: 'null' }] },
      note: { type: 'string' },
    },
    ['identity', 'restricted', 'rule', 'grants'],
  ),
  TemplateList: obj(
    {
      templates: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            description: { type: 'string' },
            kind: { enum: ['command', 'argv', 'script'] },
            inputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' }, required: { type: 'boolean' } }, required: ['name', 'type', 'required'] } },
            allowed: { type: 'boolean', description: 'Whether this client may run it.' },
          },
          required: ['name', 'kind', 'inputs', 'allowed'],
        },
      },
    },
    ['templates'],
  ),
};

// ---- Routes ------------------------------------------------------------------------------------------

export interface Answer {
  readonly description: string;
  /** A schema name of SCHEMAS for JSON, or a media type for other bodies. */
  readonly body: string;
  /** Response headers every such answer carries. */
  readonly headers?: readonly string[];
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** As OpenAPI writes it (`{id}`); also the agent's metrics label. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly query?: Readonly<Record<string, { readonly schema: Record<string, unknown>; readonly description: string }>>;
  readonly requestHeaders?: readonly string[];
  readonly requestBody?: string;
  /** The answers a client must expect, each exercised against a real agent by test/e2e/agent-openapi.test.ts.
   * Any other 4xx/5xx answer is an ErrorBody too. */
  readonly answers: Readonly<Record<number, Answer>>;
}

const error = (description: string): Answer => ({ description, body: 'ErrorBody' });
const idParam = { id: { schema: { type: 'string', pattern: JOB_ID_PATTERN.source }, description: 'A job id.' } };

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/healthz', operationId: 'health', summary: 'The agent is up.', answers: { 200: { description: 'Up.', body: 'Health' } } },
  { method: 'GET', path: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics.', answers: { 200: { description: 'Text exposition format.', body: 'text/plain' } } },
  { method: 'GET', path: '/v1/status', operationId: 'status', summary: 'Version, load, capacity, launcher, disk and process servers.', answers: { 200: { description: 'The agent\'s state.', body: 'Status' } } },
  { method: 'GET', path: '/v1/whoami', operationId: 'whoami', summary: 'The caller as the agent sees it, and what its permissions rule grants.', answers: { 200: { description: 'Identity and grants.', body: 'WhoAmI' } } },
  { method: 'GET', path: '/v1/templates', operationId: 'listTemplates', summary: 'The job templates of agent.yaml, and which this caller may run.', answers: { 200: { description: 'Templates.', body: 'TemplateList' } } },
  {
    method: 'GET',
    path: '/v1/events',
    operationId: 'events',
    summary: 'Server-sent events: one `job` event per state change; `resync` when events were missed (list the jobs again).',
    requestHeaders: [HEADERS.lastEventId],
    answers: { 200: { description: 'An event stream (keep-alive comments every 15 s).', body: 'text/event-stream' } },
  },
  {
    method: 'POST',
    path: '/v1/jobs',
    operationId: 'submitJob',
    summary: 'Submits a job. With an Idempotency-Key, a repeated submission returns the job made the first time.',
    requestHeaders: [HEADERS.idempotencyKey],
    requestBody: 'JobRequest',
    answers: {
      201: { description: 'Accepted: queued or running.', body: 'JobAccepted', headers: ['location'] },
      200: { description: 'The same Idempotency-Key and request again: the existing job.', body: 'JobAccepted', headers: ['location', HEADERS.idempotentReplayed] },
      400: error('The body is not a valid job request (AGENT_BAD_REQUEST, with each problem in details.problems).'),
      403: error('Not allowed for this caller or by agent.yaml (AGENT_PERMISSION_DENIED, AGENT_RUNAS_NOT_ALLOWED, …).'),
      409: error('The Idempotency-Key was used for another request (AGENT_IDEMPOTENCY_KEY_REUSED).'),
    },
  },
  {
    method: 'GET',
    path: '/v1/jobs',
    operationId: 'listJobs',
    summary: 'Jobs, oldest first, in pages.',
    query: {
      state: { schema: { enum: [...JOB_STATES] }, description: 'Only jobs in this state.' },
      limit: { schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, description: 'Page size.' },
      after: { schema: { type: 'string', pattern: JOB_ID_PATTERN.source }, description: 'The last id of the previous page.' },
    },
    answers: { 200: { description: 'A page of jobs.', body: 'JobList' }, 400: error('An unknown or invalid query parameter.') },
  },
  {
    method: 'GET',
    path: '/v1/jobs/{id}',
    operationId: 'getJob',
    summary: 'A job: what it runs (env names only, script size only), its state and how it ended.',
    answers: { 200: { description: 'The job.', body: 'Job' }, 400: error('Not a job id (AGENT_INVALID_JOB_ID).'), 404: error('No such job (AGENT_JOB_NOT_FOUND).') },
  },
  {
    method: 'GET',
    path: '/v1/jobs/{id}/output',
    operationId: 'getJobOutput',
    summary: 'The job\'s combined stdout and stderr from a byte offset; with follow=1, streamed until the job ends.',
    query: {
      offset: { schema: { type: 'integer', minimum: 0, default: 0 }, description: 'First byte to send.' },
      follow: { schema: { enum: ['1'] }, description: 'Keep the answer open and stream new output until the job ends.' },
    },
    answers: {
      200: { description: 'Output bytes (secret values masked).', body: 'application/octet-stream', headers: [HEADERS.jobState, HEADERS.outputOffset] },
      400: error('A bad offset or an unknown query parameter.'),
      404: error('No such job.'),
    },
  },
  {
    method: 'POST',
    path: '/v1/jobs/{id}/cancel',
    operationId: 'cancelJob',
    summary: 'TERM to every process of the job, KILL after the grace period.',
    answers: { 202: { description: 'The cancel was ordered.', body: 'JobAccepted' }, 404: error('No such job.'), 409: error('The job has ended (AGENT_JOB_FINISHED).') },
  },
  {
    method: 'POST',
    path: '/v1/jobs/{id}/abort',
    operationId: 'abortJob',
    summary: 'KILL to every process of the job, now.',
    answers: { 202: { description: 'The abort was ordered.', body: 'JobAccepted' }, 409: error('The job has ended (AGENT_JOB_FINISHED).') },
  },
];

/** Path parameters of a templated path. */
export function pathParameters(path: string): Record<string, { schema: Record<string, unknown>; description: string }> {
  return path.includes('{id}') ? idParam : {};
}
