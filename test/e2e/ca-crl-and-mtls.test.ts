import t, { type Test } from 'tap';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ca } from '../fixtures/ca-cli.js';
import { populatedStore, passphrase, type PopulatedStore } from '../fixtures/ca-store.js';
import { issue } from '../../ca/authority.js';
import { openssl } from '../fixtures/openssl.js';

const keyOf = (s: PopulatedStore, thumbprint: string): string => join(s.dir, 'keys', `${thumbprint}.key`);

/** openssl s_server demanding a client certificate, and s_client presenting one: only our certificates. */
async function opensslHandshake(t: Test, s: PopulatedStore, clientThumbprint: string, crlPath?: string): Promise<{ server: string; client: string; clientCode: number }> {
  const server = spawn('openssl', [
    's_server', '-accept', '127.0.0.1:0', '-naccept', '1', '-cert', s.listener.certPath, '-key', keyOf(s, s.listener.thumbprint),
    '-CAfile', s.root.certPath, '-Verify', '1', '-verify_return_error', ...(crlPath ? ['-crl_check', '-CRL', crlPath] : []),
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => server.kill('SIGKILL'));
  let serverOut = '';
  server.stdout.setEncoding('utf8').on('data', (d: string) => (serverOut += d));
  server.stderr.setEncoding('utf8').on('data', (d: string) => (serverOut += d));
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s_server did not start: ${serverOut}`)), 15_000);
    const onData = (): void => {
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(serverOut);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
  });
  const client = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-verify_hostname', 'localhost', '-CAfile', s.root.certPath,
    '-cert', join(s.dir, 'certs', `${clientThumbprint}.crt`), '-key', keyOf(s, clientThumbprint), '-verify_return_error', '-brief'], { input: 'ping\n' });
  await Promise.race([once(server, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
  return { server: serverOut, client: client.stdout + client.stderr, clientCode: client.code };
}

t.test('s_server/s_client mutual TLS with only our certificates', async (t) => {
  const s = await populatedStore(t);
  const r = await opensslHandshake(t, s, s.connector.thumbprint);
  t.equal(r.clientCode, 0, r.client);
  t.match(r.client, /Verification: OK/, 's_client verified the listener certificate for localhost');
  t.match(r.server, /CN ?= ?master/, 's_server received the connector certificate');
  t.notMatch(r.server, /verify error/);
});

t.test('revoke + crl: openssl crl -verify, verify -crl_check, s_server and Node tls honour it', async (t) => {
  const s = await populatedStore(t);
  const spare = await issue(s.store, { profile: 'connector', name: 'spare', key: { type: 'rsa', bits: 2048 }, passphrase });
  const rev = await ca(s.dir, ['revoke', s.connector.thumbprint.toLowerCase().replace(/(..)(?!$)/g, '$1:'), '--reason', 'keyCompromise']);
  t.equal(rev.code, 0, rev.stderr);
  t.equal((rev.json.crl as { revoked: number }).revoked, 1);
  t.equal((await ca(s.dir, ['revoke', s.connector.serial])).errorCode, 'CA_ALREADY_REVOKED');
  t.equal((await ca(s.dir, ['revoke', 'AB'.repeat(32)])).errorCode, 'CA_CERT_NOT_FOUND');

  const crlOut = join(s.work, 'ca.crl');
  const crl = await ca(s.dir, ['crl', '--days', '3', '--out', crlOut]);
  t.equal(crl.code, 0, crl.stderr);
  t.equal(crl.json.crlNumber, 2, 'CRL numbers increase');
  const crlDer = (await openssl(['crl', '-in', crlOut, '-outform', 'DER', '-out', `${crlOut}.der`])).code === 0 ? await readFile(`${crlOut}.der`) : Buffer.alloc(0);
  t.equal(crl.json.thumbprint, createHash('sha256').update(crlDer).digest('hex').toUpperCase(), '--json carries the CRL SHA-256');
  const check = await openssl(['crl', '-in', crlOut, '-CAfile', s.root.certPath, '-noout', '-verify', '-text']);
  t.equal(check.code, 0);
  t.match(check.stderr, /verify OK/);
  t.match(check.stdout, /Version 2[\s\S]*Next Update[\s\S]*CRL Number:\s+2[\s\S]*Key Compromise/);
  t.match(check.stdout, new RegExp(`Serial Number: ${s.connector.serial}`));

  const revoked = await openssl(['verify', '-crl_check', '-CAfile', s.root.certPath, '-CRLfile', crlOut, s.connector.certPath]);
  t.not(revoked.code, 0);
  t.match(revoked.stdout + revoked.stderr, /certificate revoked/);
  t.equal((await openssl(['verify', '-crl_check', '-CAfile', s.root.certPath, '-CRLfile', crlOut, spare.certPath])).code, 0);

  const refused = await opensslHandshake(t, s, s.connector.thumbprint, crlOut);
  t.match(refused.server, /certificate revoked/, 's_server refuses the revoked client');
  const accepted = await opensslHandshake(t, s, spare.thumbprint, crlOut);
  t.equal(accepted.clientCode, 0, accepted.client);
  t.notMatch(accepted.server, /verify error/);

  // Node tls, as the gateway will use it: CA bundle + CRL from the store.
  const crlPem = await readFile(crlOut, 'utf8');
  const srv = tls.createServer({
    key: await readFile(keyOf(s, s.listener.thumbprint)), cert: await readFile(s.listener.certPath),
    ca: await readFile(s.root.certPath), crl: crlPem, requestCert: true, rejectUnauthorized: false,
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  const port = (srv.address() as AddressInfo).port;
  const verdict = async (thumbprint: string): Promise<string> => {
    const seen = once(srv, 'secureConnection') as Promise<[tls.TLSSocket]>;
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: await readFile(s.root.certPath), cert: await readFile(join(s.dir, 'certs', `${thumbprint}.crt`)), key: await readFile(keyOf(s, thumbprint)) });
    sock.on('error', () => undefined);
    const [server] = await seen;
    const v = server.authorized ? 'authorized' : String((server.authorizationError as NodeJS.ErrnoException | null)?.code ?? server.authorizationError);
    t.equal(server.getPeerX509Certificate()?.fingerprint256.replace(/:/g, ''), thumbprint, 'peer thumbprint is the store thumbprint');
    sock.destroy();
    server.destroy();
    return v;
  };
  t.equal(await verdict(spare.thumbprint), 'authorized');
  t.equal(await verdict(s.connector.thumbprint), 'CERT_REVOKED');
});
