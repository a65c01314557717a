/**
 * A reload reaches connections that are already open: a keep-alive connection and a follow stream of a
 * certificate revoked after they began are closed and audited (before, a connection kept POSTing after
 * the reload); so is a connection whose client the new policy no longer pins. And the connection limits
 * an nginx operator expects: maxRequestsPerConnection (keepalive_requests) and maxConnectionAgeSeconds
 * (keepalive_time).
 */
import t from 'tap';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createBed, MASTER_IP, MONITOR_IP, startGatewayFront, auditLine } from '../fixtures/gateway.js';
import type { Issued } from '../fixtures/pki.js';
import { waitFor } from '../fixtures/wait.js';

const bed = await createBed(t);
// Idle keep-alive connections stay open for the whole test: only the reload may close them.
(bed.config.limits as Record<string, unknown>).keepAliveTimeoutMs = 120_000;
await bed.writeConfig();
const original = structuredClone(bed.config);
const restore = async () => {
  for (const k of Object.keys(bed.config)) delete bed.config[k];
  Object.assign(bed.config, structuredClone(original));
  await bed.writeConfig();
};

function keepAliveAgent(t: { teardown(fn: () => unknown): void }, cert: Issued, from: string): https.Agent {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, localAddress: from, ca: bed.pki.caCertPem, cert: cert.certPem, key: cert.keyPem } as https.AgentOptions);
  t.teardown(() => agent.destroy());
  return agent;
}

interface Answer { status: number | undefined; socket: Socket | undefined; reused: boolean; headers: Record<string, unknown>; error?: string }

function get(port: number, agent: https.Agent, path = '/echo', method = 'GET'): Promise<Answer> {
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    const req = https.request({ host: '127.0.0.1', port, servername: 'localhost', path, method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, socket, reused: req.reusedSocket, headers: res.headers }));
    });
    req.on('socket', (s) => (socket = s));
    req.on('error', (err) => resolve({ status: undefined, socket, reused: req.reusedSocket, headers: {}, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end();
  });
}

function closed(socket: Socket, timeoutMs = 15_000): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

t.test('a keep-alive connection of a certificate revoked after it opened is closed on reload, and audited', async (t) => {
  const front = await startGatewayFront(t, bed);
  const monitor = await bed.pki.issueConnector({ name: 'monitor' });
  const agent = keepAliveAgent(t, monitor, MONITOR_IP);
  const first = await get(front.port, agent);
  t.equal(first.status, 200);
  t.equal((await get(front.port, agent)).reused, true, 'the connection is kept alive');
  bed.pki.revoke(monitor.thumbprint);
  await bed.pki.writeCrl();
  await front.reload();
  t.ok(await closed(first.socket!), 'the open connection was closed by the reload');
  const after = await get(front.port, agent);
  t.not(after.status, 200, `no request gets through afterwards (${after.status ?? after.error})`);
  t.match(await auditLine(front, (l) => l.kind === 'connection' && l.reason === 'CERT_REVOKED' && l.thumbprint === monitor.thumbprint && l.rule === 'monitoring'),
    { decision: 'deny', src: MONITOR_IP, subject: /CN=monitor/ }, 'audited with the reason and the rule it had been using');
  const logged = /"closed":1,.*"message":"closed open connections that the reloaded certificates, CRL or policy no longer allow"/;
  await waitFor(() => logged.test(front.output()), 10_000, 'the reload\'s log line').catch(() => undefined);
  t.match(front.output(), logged);
});

t.test('a follow stream of a revoked certificate is cut on reload; other connections stay', async (t) => {
  const front = await startGatewayFront(t, bed);
  const monitor = await bed.pki.issueConnector({ name: 'monitor' });
  const master = keepAliveAgent(t, bed.certs.master, MASTER_IP);
  const masterFirst = await get(front.port, master);
  t.equal(masterFirst.status, 200);
  const stream = await new Promise<{ res: IncomingMessage; ended: Promise<string> }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: front.port, servername: 'localhost', path: '/stream?chunks=600&ms=100', localAddress: MONITOR_IP,
      ca: bed.pki.caCertPem, cert: monitor.certPem, key: monitor.keyPem, agent: false } as https.RequestOptions, (res) => {
      const ended = new Promise<string>((done) => {
        res.on('end', () => done('end'));
        res.on('aborted', () => done('aborted'));
        res.on('error', () => done('error'));
        res.on('close', () => done('close'));
      });
      res.once('data', () => resolve({ res, ended }));
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(stream.res.statusCode, 200, 'the stream is flowing');
  bed.pki.revoke(monitor.thumbprint);
  await bed.pki.writeCrl();
  await front.reload();
  const how = await Promise.race([stream.ended, new Promise<string>((r) => setTimeout(() => r('still open'), 15_000))]);
  t.not(how, 'still open', `the stream was cut (${how}), long before its 60 s`);
  t.not(how, 'end', 'cut, not completed');
  t.equal((await get(front.port, master)).reused, true, 'the master\'s connection, still allowed, stayed open');
});

t.test('a connection whose client the reloaded policy no longer pins is closed', async (t) => {
  t.teardown(restore);
  const front = await startGatewayFront(t, bed);
  const agent = keepAliveAgent(t, bed.certs.master, MASTER_IP);
  const first = await get(front.port, agent, '/echo', 'POST');
  t.equal(first.status, 200);
  // The master's pin goes, and the monitoring rule (also listing the master's address) wants CN=monitor.
  const access = bed.config.access as { clients: { thumbprints?: string[]; subjects?: string[] } }[];
  access[0]!.clients = { subjects: ['CN=someone-else'] };
  await bed.writeConfig();
  await front.reload();
  t.ok(await closed(first.socket!), 'closed by the reload');
  t.ok(await auditLine(front, (l) => l.kind === 'connection' && l.reason === 'CLIENT_NOT_ALLOWED' && l.thumbprint === bed.certs.master.thumbprint && l.rule === 'master'));
});

t.test('limits.maxRequestsPerConnection: the last response says Connection: close and the connection ends', async (t) => {
  t.teardown(restore);
  (bed.config.limits as Record<string, unknown>).maxRequestsPerConnection = 3;
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  const agent = keepAliveAgent(t, bed.certs.master, MASTER_IP);
  const answers: Answer[] = [];
  for (let i = 0; i < 4; i++) answers.push(await get(front.port, agent));
  t.same(answers.map((a) => a.status), [200, 200, 200, 200]);
  t.same(answers.map((a) => a.headers.connection), ['keep-alive', 'keep-alive', 'close', 'keep-alive']);
  t.same(answers.map((a) => a.reused), [false, true, true, false], 'the fourth request needed a new connection');
});

t.test('limits.maxConnectionAgeSeconds: an idle connection past its age is closed, a stream in flight finishes', async (t) => {
  t.teardown(restore);
  (bed.config.limits as Record<string, unknown>).maxConnectionAgeSeconds = 1;
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  const agent = keepAliveAgent(t, bed.certs.master, MASTER_IP);
  const idle = await get(front.port, agent);
  t.equal(idle.status, 200);
  t.ok(await closed(idle.socket!), 'the idle connection was closed once past its age');
  // A response that outlives the age is not cut: like nginx, the age only stops new requests.
  const streamed = await get(front.port, agent, '/stream?chunks=15&ms=150');
  t.equal(streamed.status, 200, 'the whole stream arrived');
  t.ok(await closed(streamed.socket!), 'and the connection ended after it');
});
