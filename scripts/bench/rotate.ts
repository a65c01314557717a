/**
 * `npm run bench:rotate`: `outpost ca rotate` over 20 real gateways (in this process, each on its own
 * port with its own RSA-3072 listener key, the default), one at a time and four at a time. Per gateway a
 * rotation is: GET /v1/gateway/tls, POST /v1/gateway/csr (the gateway makes its key), sign with the CA
 * store, PUT /v1/gateway/certificate (checks, atomic writes, setSecureContext). Prints the time per
 * gateway and writes bench-results/rotate.json. GATEWAYS=N changes the count.
 */
// First: --node re-runs this bench under another Node before anything else is loaded (runtime.ts).
import './runtime.js';
import { mkdir, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { CaStore } from '../../ca/store.js';
import { initCa, issue } from '../../ca/authority.js';
import { crl } from '../../ca/revocation.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { lazyLogger } from '../../core/lazy-logger.js';
import { loadCredentials } from '../../master/credentials.js';
import { GatewayAdminClient } from '../../master/lifecycle/admin-client.js';
import { CaContext } from '../../master/lifecycle/ca-context.js';
import { mapLimited, rotateGateway } from '../../master/lifecycle/operations.js';

const N = Number(process.env.GATEWAYS ?? 20);
const root = fileURLToPath(new URL('../../', import.meta.url));
const passphrase = () => Promise.resolve('bench-passphrase');

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-rotate-'));
try {
  const store = new CaStore(join(dir, 'ca'));
  await initCa(store, { cn: 'Bench Root', passphrase });
  const connector = await issue(store, { profile: 'connector', name: 'master', makeDefault: true, passphrase });
  await crl(store, { passphrase });
  const index = await store.open();
  const caPath = store.rootCertPath(index.defaultRoot ?? '');
  const upstream = http.createServer((_req, res) => res.end('{}'));
  await new Promise<void>((r) => upstream.listen(join(dir, 'agent.sock'), r));
  const logger = lazyLogger({ level: 'error' });
  const gateways: Gateway[] = [];
  const urls: string[] = [];
  for (let i = 0; i < N; i++) {
    const g = join(dir, `gw${i}`);
    await mkdir(g, { mode: 0o700 });
    const l = await issue(store, { profile: 'listener', name: 'localhost', sans: [{ type: 'dns', value: 'localhost' }], passphrase });
    await copyFile(l.certPath, join(g, 'cert.pem'));
    await writeFile(join(g, 'key.pem'), await readFile(l.keyPath ?? ''), { mode: 0o600 });
    await copyFile(caPath, join(g, 'ca.pem'));
    await copyFile(store.crlPath, join(g, 'crl.pem'));
    const config = parseGatewayConfig({
      listen: { host: '127.0.0.1', port: 0 },
      tls: { cert: join(g, 'cert.pem'), key: join(g, 'key.pem'), ca: join(g, 'ca.pem'), crl: join(g, 'crl.pem') },
      upstream: { socket: join(dir, 'agent.sock') },
      access: [{ name: 'admin', sources: ['127.0.0.1/32'], clients: { subjects: ['CN=master'] }, admin: true }],
      auditLog: join(g, 'audit.log'),
    });
    const gw = await createGateway(config, logger);
    gateways.push(gw);
    urls.push(`https://localhost:${gw.address().port}`);
  }
  const creds = await loadCredentials({ cert: connector.certPath, key: connector.keyPath, ca: caPath });
  const ctx = new CaContext(store.dir, passphrase);
  await ctx.root(); // the root key is opened once per run, as the command does
  const results: Record<string, unknown> = { gateways: N, listenerKey: 'rsa-3072', loadavg: loadavg().map((l) => Math.round(l * 100) / 100) };
  for (const concurrency of [1, 4]) {
    const started = performance.now();
    const rows = await mapLimited(urls, concurrency, async (url) => {
      const c = new GatewayAdminClient(url, creds);
      try {
        return await rotateGateway(c, ctx.listenerSigner(24 * 3_600_000));
      } finally {
        await c.close();
      }
    });
    const ms = performance.now() - started;
    const failed = rows.filter((r) => r.status !== 'rotated');
    if (failed.length > 0) throw new Error(`rotation failed: ${JSON.stringify(failed[0])}`);
    results[`concurrency${concurrency}`] = { totalMs: Math.round(ms), msPerGateway: Math.round(ms / N) };
    process.stdout.write(`rotate ${N} gateways, ${concurrency} at a time: ${Math.round(ms)} ms, ${Math.round(ms / N)} ms per gateway\n`);
  }
  await Promise.all(gateways.map((g) => g.close()));
  upstream.close();
  await mkdir(join(root, 'bench-results'), { recursive: true });
  await writeFile(join(root, 'bench-results', 'rotate.json'), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
