// bench:fleet's floor: `node fleet-floor.mjs AGENTS_FILE CONCURRENCY` (OUTPOST_CERT, OUTPOST_KEY, OUTPOST_CA).
// What Node's own TLS client costs per host with nothing of ours around it: for every `NAME URL` line, one
// mutual-TLS connection to the same gateway the master talks to, with the same certificates and checks
// (chain and host name), one `GET /v1/status` and close — where the master's run of a job makes that
// connection and four requests. Prints `ok N failed M`; exits 1 if a host failed. The credentials and the
// TLS options are the master's own (dist/, built by `npm run bench:fleet`).
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { connect } from 'node:tls';
import { URL } from 'node:url';
import { tlsConnectOptions } from '../../dist/master/client.js';
import { loadCredentials } from '../../dist/master/credentials.js';

const [agentsFile, concurrencyArg] = process.argv.slice(2);
if (!agentsFile) throw new Error('usage: fleet-floor.mjs AGENTS_FILE [CONCURRENCY]');
const urls = readFileSync(agentsFile, 'utf8').split('\n').map((l) => l.trim().split(/\s+/).at(-1)).filter(Boolean).map((u) => new URL(u));
const creds = await loadCredentials({});

function statusOf(url) {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = connect({ host, port: Number(url.port), ...tlsConnectOptions(url, creds) });
    const chunks = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    socket.once('secureConnect', () => socket.write(`GET /v1/status HTTP/1.1\r\nhost: ${url.host}\r\naccept: application/json\r\nconnection: close\r\n\r\n`));
    socket.on('data', (d) => chunks.push(d));
    socket.once('error', reject);
    socket.once('close', () => {
      const head = Buffer.concat(chunks).toString('latin1', 0, 16);
      if (/^HTTP\/1\.1 200 /.test(head)) resolve();
      else reject(new Error(`${url.host}: ${head.split('\r\n')[0] || 'no answer'}`));
    });
  });
}

let next = 0;
let ok = 0;
const failures = [];
await Promise.all(Array.from({ length: Math.max(1, Number(concurrencyArg) || 64) }, async () => {
  while (next < urls.length) {
    const url = urls[next++];
    await statusOf(url).then(() => ok++, (err) => failures.push(err.message));
  }
}));
process.stdout.write(`ok ${ok} failed ${failures.length}${failures.length ? ` (${failures[0]})` : ''}\n`);
process.exitCode = failures.length ? 1 : 0;
