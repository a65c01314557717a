/**
 * Through the real agent (`outpost agent start`): a job submitted by the master through the gateway runs,
 * its output streams back with follow=1, and the agent records who submitted it from the identity the
 * gateway vouches for (not from what the client claimed). Once over the Unix socket, once over loopback TCP
 * with the shared secret the gateway adds.
 */
import t from 'tap';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { createBed, MASTER_IP, MONITOR_IP, startGatewayFront } from '../fixtures/gateway.js';
import { call, type CallOptions } from '../fixtures/gateway-client.js';
import { startAgentProcess } from '../fixtures/agent.js';

for (const transport of ['socket', 'tcp'] as const) {
  t.test(`a job through the gateway and the real agent (${transport === 'socket' ? 'Unix socket' : 'loopback TCP + secret'})`, async (t) => {
    const bed = await createBed(t);
    const agent = await startAgentProcess(t, transport === 'tcp' ? { tcp: true } : {});
    if (transport === 'socket') {
      bed.config.upstream = { socket: agent.socket };
    } else {
      const secretFile = join(bed.dir, 'gateway-agent.secret');
      await writeFile(secretFile, `${agent.secret}\n`, { mode: 0o600 });
      bed.config.upstream = { host: '127.0.0.1', port: agent.port, secretFile };
    }
    await bed.writeConfig();
    const front = await startGatewayFront(t, bed);
    const ask = (o: Omit<CallOptions, 'port' | 'ca'>) => call({ port: front.port, ca: bed.pki.caCertPem, ...o });

    const submitted = await ask({
      from: MASTER_IP, cert: bed.certs.master, method: 'POST', path: '/v1/jobs',
      headers: { 'content-type': 'application/json', 'x-outpost-client-subject': 'CN=someone-else', 'x-forwarded-for': '203.0.113.66' },
      body: JSON.stringify({ argv: ['/bin/sh', '-c', 'echo first; sleep 1; echo second'], description: 'through the gateway' }),
    });
    t.equal(submitted.status, 201, submitted.body);
    const { id } = JSON.parse(submitted.body) as { id: string };
    t.match(id, /^[a-z0-9-]+$/);

    // follow=1 streams: the first line arrives well before the job's second line is written.
    const arrivals: [number, string][] = [];
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: front.port, servername: 'localhost', localAddress: MASTER_IP, ca: bed.pki.caCertPem,
        cert: bed.certs.master.certPem, key: bed.certs.master.keyPem, path: `/v1/jobs/${id}/output?follow=1`, agent: false });
      req.on('response', (res) => {
        res.setEncoding('utf8').on('data', (d: string) => arrivals.push([Date.now() - started, d]));
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    t.equal(arrivals.map(([, d]) => d).join(''), 'first\nsecond\n');
    const firstAt = arrivals.find(([, d]) => d.includes('first'))?.[0] ?? Infinity;
    const secondAt = arrivals.find(([, d]) => d.includes('second'))?.[0] ?? 0;
    t.ok(secondAt - firstAt >= 500, `"first" at ${firstAt} ms, "second" at ${secondAt} ms: streamed, not buffered`);

    const job = JSON.parse((await ask({ from: MASTER_IP, cert: bed.certs.master, path: `/v1/jobs/${id}` })).body) as Record<string, unknown>;
    t.equal(job.state, 'succeeded');
    t.same(job.submittedBy, { subject: 'CN=master', thumbprint: bed.certs.master.thumbprint, address: MASTER_IP }, 'the identity the gateway verified, not the client\'s claim');

    t.equal((await ask({ from: MONITOR_IP, cert: bed.certs.monitor, path: '/v1/status' })).status, 200, 'a monitor reads the status');
    const refused = await ask({ from: MONITOR_IP, cert: bed.certs.monitor, method: 'POST', path: '/v1/jobs', body: '{"argv":["/bin/true"]}', headers: { 'content-type': 'application/json' } });
    t.equal(refused.status, 403);
    t.equal(JSON.parse(refused.body).error.code, 'GATEWAY_METHOD_NOT_ALLOWED');
  });
}
