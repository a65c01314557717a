/**
 * A gateway whose CA, listener and client certificates are all EC P-256: the ECDHE-ECDSA suites of the
 * Mozilla intermediate list are negotiated, TLS 1.3 signs with ECDSA, and a master with an EC connector
 * certificate gets through to the agent.
 */
import t from 'tap';
import { createBed, FRONTS, frontSkip, MASTER_IP, startFront } from '../fixtures/gateway.js';
import { curl, run } from '../fixtures/gateway-client.js';

for (const kind of FRONTS) {
  t.test(`${kind} front with EC certificates`, { skip: frontSkip(kind) }, async (t) => {
    const bed = await createBed(t, { key: { type: 'ec', name: 'ec-p256' } });
    (bed.config.access as unknown[]).push({ name: 'tls-probe', sources: ['127.0.0.1/32'], clients: { subjects: ['CN=master'] }, methods: ['GET'] });
    await bed.writeConfig();
    const front = await startFront(t, bed, kind);
    const m = bed.certs.master;
    const sClient = (args: string[]) =>
      run('openssl', ['s_client', '-connect', `127.0.0.1:${front.port}`, '-servername', 'localhost', '-CAfile', bed.pki.caCertPath,
        '-cert', m.certPath, '-key', m.keyPath, '-verify_return_error', ...args], '', 10_000).then((r) => ({ ...r, all: r.stdout + r.stderr }));

    for (const suite of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
      const r = await sClient(['-tls1_2', '-cipher', suite]);
      t.match(r.all, new RegExp(`New, TLSv1\\.2, Cipher is ${suite}`), `TLS 1.2 ${suite}`);
      t.match(r.all, /Verify return code: 0 \(ok\)/);
    }
    const rsaOnly = await sClient(['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    t.not(rsaOnly.code, 0, 'an ECDHE-RSA-only client finds no suite for an EC certificate');

    const v13 = await sClient([]);
    t.match(v13.all, /New, TLSv1\.3/);
    t.match(v13.all, /Peer signature type: ECDSA/);

    const c = await curl({ port: front.port, caPath: bed.pki.caCertPath, from: MASTER_IP, cert: m });
    t.equal(c.stdout.trim().split('\n').at(-1), '200', `the master's EC client certificate is accepted: ${c.stderr}`);
  });
}
