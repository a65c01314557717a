import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { createTestPki } from '../fixtures/pki.js';
import { startMtlsServer } from '../fixtures/mtls-server.js';
import { tempDir } from '../fixtures/cli.js';
import { loadCredentials } from '../../master/credentials.js';
import { AgentClient, ClientPool } from '../../master/client.js';
import { followOutput } from '../../master/follow.js';
import { API_VERSION } from '../../core/api-version.js';

const dir = await tempDir(t, 'outpost-master-client-');
const pki = await createTestPki(dir);
const listener = await pki.issueListener({ name: 'gw', sans: ['dns:localhost', 'ip:127.0.0.1', 'ip:127.0.0.2'] });
const connector = await pki.issueConnector({ name: 'master' });
const server = await startMtlsServer({ cert: listener.certPem, key: listener.keyPem, ca: pki.caCertPem });
t.teardown(() => server.close());
const creds = await loadCredentials({ cert: connector.certPath, key: connector.keyPath, ca: pki.caCertPath }, {});

t.test('submits a job over mutual TLS and reuses one connection for many requests', async (t) => {
  const client = new AgentClient(server.url, creds, { connections: 1 });
  t.teardown(() => client.close());
  const before = server.connections();
  const job = await client.submit({ argv: ['echo', 'hi'] });
  t.match(job, { id: /^job-\d+$/, state: 'running' });
  for (let i = 0; i < 5; i++) await client.job(job.id);
  await client.status();
  t.equal(server.connections() - before, 1, 'eight requests (the API check first), one TLS handshake');
  const last = server.requests.at(-1);
  t.equal(last?.subject, 'master', 'the server saw our connector certificate');
  t.same(server.requests.find((r) => r.method === 'POST')?.body, { argv: ['echo', 'hi'] });
});

t.test('the requests for one host share one TLS connection with the default pool too: the submission does not open a second', async (t) => {
  const client = new AgentClient(server.url, creds);
  t.teardown(() => client.close());
  const before = server.connections();
  const job = await client.submit({ argv: ['one', 'handshake'] }); // the API check (GET), then the POST
  await followOutput(client, job.id, { onData: () => undefined });
  await client.job(job.id);
  t.equal(server.connections() - before, 1, 'status, submit, follow and record over one connection');
});

t.test('follows output to the end, resuming after dropped connections without duplicates', async (t) => {
  const client = new AgentClient(server.url, creds);
  t.teardown(() => client.close());
  const text = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
  const job = await client.submit({ argv: [text] });
  server.dropAfter.set(job.id, { bytes: 20, times: 3 });
  server.overlap = 7; // every resumed answer starts 7 bytes early: the cursor must trim them
  t.teardown(() => { server.overlap = 0; });
  const received: Buffer[] = [];
  const resumedAt: number[] = [];
  const result = await followOutput(client, job.id, {
    onData: (b) => received.push(b),
    onResume: (offset) => resumedAt.push(offset),
    backoffMs: 10,
  });
  t.equal(Buffer.concat(received).toString(), text, 'every byte exactly once, in order');
  t.equal(result.job.state, 'succeeded');
  t.equal(result.bytes, Buffer.byteLength(text));
  t.equal(resumedAt.length, 3, 'three drops, three resumptions');
  t.ok(resumedAt.every((o, i) => i === 0 || o > (resumedAt[i - 1] ?? 0)), 'each resumption starts further on');
  const outputRequests = server.requests.filter((r) => r.path.startsWith(`/v1/jobs/${job.id}/output`));
  t.match(outputRequests[1]?.path, /offset=(2[0-9]|[3-9][0-9])&follow=1/, 'the second request asks from the bytes already received');
});

t.test('an ended job whose record says every byte arrived costs no further read; a tail left over is fetched', async (t) => {
  const client = new AgentClient(server.url, creds);
  t.teardown(() => client.close());
  const outputReads = (id: string): string[] => server.requests.filter((r) => r.path.startsWith(`/v1/jobs/${id}/output`)).map((r) => r.path);
  const whole = await client.submit({ argv: ['the', 'whole', 'output'] });
  const a = await followOutput(client, whole.id, { onData: () => undefined, backoffMs: 10 });
  t.equal(a.bytes, 'the whole output'.length);
  t.same(outputReads(whole.id), [`/v1/jobs/${whole.id}/output?offset=0&follow=1`], 'the follow only: the record says outputBytes = bytes received');

  const late = await client.submit({ argv: ['a', 'tail', 'written', 'late'] });
  server.endEarly.set(late.id, 4);
  const received: Buffer[] = [];
  const b = await followOutput(client, late.id, { onData: (d) => received.push(d), backoffMs: 10 });
  t.equal(Buffer.concat(received).toString(), 'a tail written late', 'the last four bytes came with a second read');
  t.same(outputReads(late.id).length, 2);
  t.match(outputReads(late.id)[1], /offset=15$/, 'the second read asks for what is missing, without follow');
  t.equal(b.bytes, 19);
});

t.test('gives up with MASTER_OUTPUT_INTERRUPTED when the stream keeps dying', async (t) => {
  const client = new AgentClient(server.url, creds);
  t.teardown(() => client.close());
  const job = await client.submit({ argv: ['x'.repeat(10)] });
  // Drops after 3 bytes, every time: progress is made, so it should still finish.
  server.dropAfter.set(job.id, { bytes: 3, times: 100 });
  const r = await followOutput(client, job.id, { onData: () => undefined, backoffMs: 1 });
  t.equal(r.bytes, 10, 'progress on every attempt resets the failure count');
  const gone = new AgentClient('https://127.0.0.1:1', creds);
  t.teardown(() => gone.close());
  await t.rejects(followOutput(gone, 'job-1', { onData: () => undefined, backoffMs: 1, maxFailures: 2 }), {
    code: 'MASTER_OUTPUT_INTERRUPTED', message: /byte 0 after 2 attempts/,
  });
});

t.test('agent errors keep their code', async (t) => {
  const client = new AgentClient(server.url, creds);
  t.teardown(() => client.close());
  await t.rejects(client.job('nope'), { code: 'MASTER_JOB_NOT_FOUND', message: /AGENT_JOB_NOT_FOUND/ });
  await t.rejects(client.submit({ argv: ['refuse'] }), { code: 'MASTER_REQUEST_REFUSED', message: /AGENT_BAD_REQUEST: argv refused/ });
  await t.rejects(client.job('../etc'), { code: 'MASTER_INVALID_JOB_ID' });
});

t.test('transport failures say what to check', async (t) => {
  const refused = new AgentClient('https://127.0.0.1:1', creds);
  t.teardown(() => refused.close());
  await t.rejects(refused.status(), { code: 'MASTER_AGENT_UNREACHABLE', message: /ECONNREFUSED/ });

  const other = await createTestPki(join(dir, 'other'), { cn: 'Other Root' }).catch(async () => {
    execFileSync('mkdir', ['-p', join(dir, 'other')]);
    return createTestPki(join(dir, 'other'), { cn: 'Other Root' });
  });
  const wrongCa = await loadCredentials({ cert: connector.certPath, key: connector.keyPath, ca: other.caCertPath }, {});
  const untrusting = new AgentClient(server.url, wrongCa);
  t.teardown(() => untrusting.close());
  await t.rejects(untrusting.status(), { code: 'MASTER_TLS_FAILED' }, 'a gateway certificate from another CA is refused');

  const stranger = await other.issueConnector({ name: 'stranger' });
  const strangerCreds = await loadCredentials({ cert: stranger.certPath, key: stranger.keyPath, ca: pki.caCertPath }, {});
  const refusedClient = new AgentClient(server.url, strangerCreds);
  t.teardown(() => refusedClient.close());
  const err = await refusedClient.status().then(() => null, (e: unknown) => e as { code?: string; message?: string });
  t.ok(err && ['MASTER_TLS_FAILED', 'MASTER_AGENT_UNREACHABLE'].includes(err.code ?? ''), `a client certificate from another CA is refused (${err?.code}: ${err?.message})`);

  const byName = new AgentClient(server.url.replace('127.0.0.1', 'localhost'), creds);
  t.teardown(() => byName.close());
  t.match(await byName.status(), { capacity: 4 }, 'host names are verified against DNS SANs');
});

t.test('credentials: env vars, missing parts, modes, PKCS#12 with a password file', async (t) => {
  const fromEnv = await loadCredentials({}, { OUTPOST_CERT: connector.certPath, OUTPOST_KEY: connector.keyPath, OUTPOST_CA: pki.caCertPath });
  t.equal(fromEnv.source.cert, connector.certPath);
  await t.rejects(loadCredentials({}, {}), { code: 'MASTER_CREDENTIALS_MISSING', message: /--cert/ });
  await t.rejects(loadCredentials({ cert: connector.certPath }, {}), { code: 'MASTER_CREDENTIALS_MISSING', message: /--key/ });
  await t.rejects(loadCredentials({ cert: connector.certPath, key: connector.keyPath }, {}), { code: 'MASTER_CREDENTIALS_MISSING', message: /--ca/ });
  await t.rejects(loadCredentials({ cert: join(dir, 'absent.pem'), key: connector.keyPath, ca: pki.caCertPath }, {}), { code: 'MASTER_CREDENTIALS_UNREADABLE', message: /ENOENT/ });
  await t.rejects(loadCredentials({ cert: connector.certPath, key: listener.keyPath, ca: pki.caCertPath }, {}), { code: 'MASTER_CREDENTIALS_UNREADABLE' }, 'a key that does not match');
  const loose = join(dir, 'loose.key');
  await writeFile(loose, connector.keyPem, { mode: 0o644 });
  await chmod(loose, 0o644);
  await t.rejects(loadCredentials({ cert: connector.certPath, key: loose, ca: pki.caCertPath }, {}), { code: 'MASTER_CREDENTIALS_UNREADABLE', message: /chmod 600/ });

  // A PKCS#12 bundle made by OpenSSL 3 (AES, no -legacy), opened with the password from a file.
  const p12 = join(dir, 'master.p12');
  const pw = join(dir, 'p12.pw');
  await writeFile(pw, 'correct horse\n', { mode: 0o600 });
  execFileSync('openssl', ['pkcs12', '-export', '-in', connector.certPath, '-inkey', connector.keyPath, '-certfile', pki.caCertPath,
    '-out', p12, '-passout', 'pass:correct horse']);
  await chmod(p12, 0o600);
  const fromP12 = await loadCredentials({ cert: p12, ca: pki.caCertPath, passwordFile: pw }, {});
  t.ok(fromP12.pfx, 'PKCS#12 is used as is');
  const client = new AgentClient(server.url, fromP12);
  t.teardown(() => client.close());
  t.match(await client.status(), { capacity: 4 }, 'mutual TLS works with the PKCS#12 identity');
  const wrongPw = join(dir, 'wrong.pw');
  await writeFile(wrongPw, 'nope\n', { mode: 0o600 });
  await t.rejects(loadCredentials({ cert: p12, ca: pki.caCertPath, passwordFile: wrongPw }, {}), { code: 'MASTER_PKCS12_BAD_PASSWORD' });
  const viaEnv = await loadCredentials({ cert: p12, ca: pki.caCertPath }, { OUTPOST_CERT_PASSWORD: 'correct horse' });
  t.ok(viaEnv.pfx);
});

t.test('the pool keeps one client per agent URL', async (t) => {
  const pool = new ClientPool(creds);
  t.teardown(() => pool.close());
  t.equal(pool.get(server.url), pool.get(server.url));
  t.not(pool.get(server.url), pool.get(server.url.replace('127.0.0.1', 'localhost')));
});

t.test('a listener that accepts TCP but never answers TLS: MASTER_CONNECT_TIMEOUT after the connect timeout', async (t) => {
  const held: Socket[] = [];
  const silent = createServer((s) => held.push(s.on('error', () => undefined)));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  const url = `https://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const client = new AgentClient(url, creds, { connectTimeoutMs: 300 });
  t.teardown(() => client.close());
  await t.rejects(client.status(), { code: 'MASTER_CONNECT_TIMEOUT', message: /no TLS connection within the connect timeout/ });
});

t.test('drop() closes one agent\'s client; the next get() opens a new one', async (t) => {
  const pool = new ClientPool(creds);
  t.teardown(() => pool.close());
  const first = pool.get('https://127.0.0.1:1');
  await pool.drop('https://127.0.0.1:1');
  t.not(pool.get('https://127.0.0.1:1'), first);
  await pool.drop('https://127.0.0.9:1');
});

t.test('the master announces its API version and checks the agent\'s before it submits anything', async (t) => {
  const client = new AgentClient(server.url, creds);
  t.teardown(() => client.close());
  const seen = server.requests.length;
  await client.submit({ argv: ['echo', 'checked'] });
  const sent = server.requests.slice(seen);
  t.same(sent.map((r) => `${r.method} ${r.path}`), ['GET /v1/status', 'POST /v1/jobs'], 'one status probe, then the submission');
  t.ok(sent.every((r) => r.apiVersion === String(API_VERSION)), 'every request carries Outpost-Api-Version');
  await client.submit({ argv: ['echo', 'again'] });
  t.same(server.requests.slice(seen + 2).map((r) => r.method), ['POST'], 'checked once per agent');
});

t.test('an agent of another API major, or of none, is refused with MASTER_AGENT_INCOMPATIBLE and gets no job', async (t) => {
  for (const [announced, message] of [
    ['2', /agent speaks API 2, this master speaks API 1: upgrade the master/],
    ['0.5', /agent speaks API 0\.5, this master speaks API 1: upgrade the agent/],
    [null, /announces no API version .*this master speaks API 1: upgrade the agent/],
    ['two', /"two"/],
  ] as const) {
    const other = await startMtlsServer({ cert: listener.certPem, key: listener.keyPem, ca: pki.caCertPem, apiVersion: announced });
    t.teardown(() => other.close());
    const client = new AgentClient(other.url, creds);
    t.teardown(() => client.close());
    await t.rejects(client.submit({ argv: ['echo', 'never'] }), { code: 'MASTER_AGENT_INCOMPATIBLE', message }, `announced ${String(announced)}`);
    await t.rejects(client.status(), { code: 'MASTER_AGENT_INCOMPATIBLE' }, 'a GET is refused too');
    await t.rejects(client.job('job-1'), { code: 'MASTER_AGENT_INCOMPATIBLE' }, 'so is an error answer of the agent (AGENT_JOB_NOT_FOUND)');
    t.same(other.requests.filter((r) => r.method === 'POST'), [], 'nothing was submitted');
    t.equal(other.jobs.size, 0);
  }
});

t.test('a gateway\'s own refusal carries no API version and is reported as before', async (t) => {
  const gateway = createHttpsServer({ cert: listener.certPem, key: listener.keyPem, ca: pki.caCertPem, requestCert: true }, (_req, res) => {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'GATEWAY_ACCESS_DENIED', message: 'no rule allows this' } }));
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    gateway.closeAllConnections();
    gateway.close();
  });
  const client = new AgentClient(`https://127.0.0.1:${(gateway.address() as { port: number }).port}`, creds);
  t.teardown(() => client.close());
  await t.rejects(client.status(), { code: 'MASTER_ACCESS_DENIED', message: /GATEWAY_ACCESS_DENIED/ });
  await t.rejects(client.submit({ argv: ['true'] }), { code: 'MASTER_ACCESS_DENIED' }, 'the probe before a submission reports it too');
});
