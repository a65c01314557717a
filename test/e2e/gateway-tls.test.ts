/**
 * TLS settings as a real client sees them, on both fronts, with openssl s_client and curl: TLS 1.3 by
 * default, TLS 1.2 with ECDHE+AEAD, TLS 1.1 and CBC suites and unlisted curves refused by the server
 * (the client is told to offer them at security level 0, so the refusal is the server's), client-initiated
 * renegotiation refused; and job output streamed through without buffering.
 */
import t from 'tap';
import { auditLine, createBed, FRONTS, frontSkip, MASTER_IP, startFront } from '../fixtures/gateway.js';
import { curl, run } from '../fixtures/gateway-client.js';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';

for (const kind of FRONTS) {
  t.test(`${kind} front`, { skip: frontSkip(kind) }, async (t) => {
    const bed = await createBed(t);
    // openssl s_client cannot choose its source address: let 127.0.0.1 in, GET only, for these tests.
    (bed.config.access as unknown[]).push({ name: 'tls-probe', sources: ['127.0.0.1/32'], clients: { subjects: ['CN=master'] }, methods: ['GET'] });
    await bed.writeConfig();
    const front = await startFront(t, bed, kind);
    const m = bed.certs.master;
    const sClient = (args: string[], input = '') =>
      run('openssl', ['s_client', '-connect', `127.0.0.1:${front.port}`, '-servername', 'localhost', '-CAfile', bed.pki.caCertPath,
        '-cert', m.certPath, '-key', m.keyPath, ...args], input, 10_000).then((r) => ({ ...r, all: r.stdout + r.stderr }));

    if (kind === 'gateway') {
      t.test('a handshake reset by the client is audited with its source address', async (t) => {
        const c = net.connect({ port: front.port, host: '127.0.0.1', localAddress: MASTER_IP });
        c.on('error', () => {});
        await new Promise<void>((r) => c.once('connect', () => r()));
        // The start of a ClientHello, then a TCP reset.
        c.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]));
        await new Promise((r) => setTimeout(r, 200));
        c.resetAndDestroy();
        t.match(await auditLine(front, (l) => l.kind === 'connection' && l.reason === 'ECONNRESET'), { src: MASTER_IP, decision: 'deny' });
      });

      t.test('a refused handshake says what OpenSSL said: an unsupported protocol, no shared cipher', async (t) => {
        const offer = async (options: tls.ConnectionOptions): Promise<void> => {
          const c = tls.connect({ socket: net.connect({ port: front.port, host: '127.0.0.1', localAddress: MASTER_IP }), ca: readFileSync(bed.pki.caCertPath), servername: 'localhost', ...options });
          await new Promise<void>((r) => c.once('error', () => r()).once('close', () => r()));
          c.destroy();
        };
        await offer({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
        t.match(await auditLine(front, (l) => l.kind === 'connection' && l.reason === 'ERR_SSL_UNSUPPORTED_PROTOCOL'),
          { src: MASTER_IP, decision: 'deny', detail: 'unsupported protocol' });
        await offer({ maxVersion: 'TLSv1.2', ciphers: 'AES256-SHA:@SECLEVEL=0' });
        t.match(await auditLine(front, (l) => l.kind === 'connection' && l.reason === 'ERR_SSL_NO_SHARED_CIPHER'),
          { src: MASTER_IP, decision: 'deny', detail: 'no shared cipher' });
      });
    }

    t.test('TLS 1.3 is negotiated by default, TLS 1.2 with ECDHE and AES-GCM works', async (t) => {
      const def = await sClient([]);
      t.match(def.all, /New, TLSv1\.3, Cipher is TLS_AES_(256|128)_GCM/);
      const v12 = await sClient(['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
      t.match(v12.all, /New, TLSv1\.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256/);
      t.equal(v12.code, 0);
    });

    t.test('TLS 1.1 is refused by the server', async (t) => {
      const r = await sClient(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
      t.not(r.code, 0);
      t.match(r.all, /alert protocol version/, 'the server sent a protocol_version alert');
      const c = await curl({ port: front.port, caPath: bed.pki.caCertPath, from: MASTER_IP, cert: m, args: ['--tlsv1.1', '--tls-max', '1.1', '--ciphers', 'DEFAULT@SECLEVEL=0'] });
      t.not(c.code, 0, 'curl --tls-max 1.1 fails');
      if (kind === 'gateway') {
        t.ok(await auditLine(front, (l) => l.kind === 'connection' && /PROTOCOL|VERSION/.test(String(l.reason))), 'the refused handshake has an audit line with its reason');
      }
    });

    t.test('CBC and non-ECDHE suites are refused', async (t) => {
      const r = await sClient(['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:AES128-SHA:AES256-GCM-SHA384:@SECLEVEL=0']);
      t.not(r.code, 0);
      t.match(r.all, /alert handshake failure/);
    });

    t.test('curves outside X25519/P-256/P-384 are refused', async (t) => {
      const r = await sClient(['-tls1_2', '-curves', 'secp521r1']);
      t.match(r.all, /alert handshake failure/);
      const ok = await sClient(['-tls1_2', '-curves', 'prime256v1']);
      t.match(ok.all, /Cipher is ECDHE-RSA-AES/);
    });

    t.test('client-initiated renegotiation is refused', async (t) => {
      // s_client renegotiates when it reads "R" on stdin; the server must answer with no_renegotiation.
      const r = await sClient(['-tls1_2'], 'R\n');
      t.match(r.all, /RENEGOTIATING/);
      t.match(r.all, /no renegotiation/);
    });

    t.test('streamed output passes through unbuffered', async (t) => {
      const arrivals: number[] = [];
      const started = Date.now();
      await new Promise<void>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: front.port, servername: 'localhost', localAddress: MASTER_IP, ca: bed.pki.caCertPem,
          cert: m.certPem, key: m.keyPem, path: '/v1/jobs/j1/output?follow=1&chunks=6&ms=300', agent: false });
        req.on('response', (res) => {
          res.on('data', () => arrivals.push(Date.now() - started));
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
      t.ok(arrivals.length >= 4, `${arrivals.length} separate chunks arrived`);
      const first = arrivals[0] ?? 0;
      const last = arrivals.at(-1) ?? 0;
      t.ok(last - first >= 900, `first chunk at ${first} ms, last at ${last} ms: chunks arrived as they were written`);
    });
  });
}
