/**
 * The lifecycle proof: two real gateways whose certificates live for seconds and whose CRL lives for
 * less, a master that keeps calling them with the CA store's default connector, and `outpost ca maintain`
 * on a loop. Across several lifetimes not one request is refused; once maintain stops, the refusal
 * follows (an expired CRL or certificate). Also `ca rotate`, `ca publish-crl` and `ca fleet` end to end.
 */
import t from 'tap';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runOutpost, tempDir } from '../fixtures/cli.js';
import { startGatewayFront, MASTER_IP, type Bed } from '../fixtures/gateway.js';
import { startUpstream } from '../fixtures/upstream.js';
import { adminRule } from '../fixtures/gateway-admin.js';
import { call } from '../fixtures/gateway-client.js';
import type { Issued } from '../fixtures/pki.js';
import { defaultConnectorFiles } from '../../master/default-connector.js';

const env = { OUTPOST_CA_PASSWORD: 'lifecycle-test-passphrase' };
// Lifetimes are seconds long, but long enough for a loaded two-core machine, where one CLI run can
// take several seconds: maintain must get at least two turns inside the renewal window of each.
const LISTENER = '45s';
const CRL = '30s';
const CONNECTOR = '60s';
t.setTimeout(420_000);

const dir = await tempDir(t, 'outpost-lifecycle-');
const caDir = join(dir, 'ca');
const ca = async (...args: string[]) => {
  const r = await runOutpost(['ca', ...args, '--ca-dir', caDir], { env });
  if (r.code !== 0 && !args.includes('maintain') && !args.includes('rotate')) throw new Error(`ca ${args.join(' ')}: ${r.stderr}`);
  return r;
};
await ca('init', '--key', 'rsa-2048', '--lifetime', '30d');
await ca('issue', 'connector', '--name', 'master', '--make-default', '--key', 'rsa-2048', '--lifetime', CONNECTOR);
// Bootstrap with a CRL that outlives the setup on a loaded machine; the short ones come with maintain.
await ca('crl', '--lifetime', '10m');

async function gateway(name: string): Promise<{ url: string; port: number }> {
  const gdir = join(dir, name);
  await mkdir(gdir, { mode: 0o700 });
  const issued = JSON.parse((await ca('issue', 'listener', '--agent', 'localhost', '--san', 'dns:localhost,ip:127.0.0.1', '--key', 'rsa-2048', '--lifetime', '10m', '--json')).stdout) as { certPath: string; keyPath: string };
  // Bootstrap: the first pair is handed over once; every later key is made on the gateway itself.
  await copyFile(issued.certPath, join(gdir, 'listener.crt'));
  await copyFile(issued.keyPath, join(gdir, 'listener.key'));
  const index = JSON.parse(await readFile(join(caDir, 'index.json'), 'utf8')) as { defaultRoot: string };
  await copyFile(join(caDir, 'roots', `${index.defaultRoot}.crt`), join(gdir, 'ca.crt'));
  await copyFile(join(caDir, 'crl.pem'), join(gdir, 'crl.pem'));
  const upstream = await startUpstream(gdir);
  t.teardown(() => upstream.close());
  const configPath = join(gdir, 'gateway.yaml');
  const auditPath = join(gdir, 'audit.log');
  await writeFile(configPath, stringify({
    listen: { host: '127.0.0.1', port: 0 },
    tls: { cert: join(gdir, 'listener.crt'), key: join(gdir, 'listener.key'), ca: join(gdir, 'ca.crt'), crl: join(gdir, 'crl.pem') },
    upstream: { socket: upstream.socketPath },
    // The CLI calls from 127.0.0.1, the test's master from MASTER_IP.
    access: [
      { name: 'master', sources: [`${MASTER_IP}/32`], clients: { subjects: ['CN=master'] }, methods: ['GET', 'POST'] },
      { ...adminRule, sources: ['127.0.0.1/32'] },
    ],
    auditLog: auditPath,
  }), { mode: 0o600 });
  const front = await startGatewayFront(t, { configPath, auditPath } as Bed);
  return { url: `https://localhost:${front.port}`, port: front.port };
}

const gateways = [await gateway('gw1'), await gateway('gw2')];
const targets = gateways.flatMap((g) => ['--agent', g.url]);

/** One request to each gateway with whatever the store's default connector is now. */
async function masterRound(): Promise<string[]> {
  const files = await defaultConnectorFiles(caDir);
  if (!files) return ['no default connector'];
  const cert = { certPem: await readFile(files.cert, 'utf8'), keyPem: await readFile(files.key, 'utf8') } as Issued;
  const caPem = await readFile(files.ca, 'utf8');
  const replies = await Promise.all(gateways.map((g) => call({ port: g.port, ca: caPem, from: MASTER_IP, cert, path: '/echo' })));
  return replies.flatMap((r, i) => (r.status === 200 ? [] : [`${gateways[i]!.url}: ${r.status ?? r.error}`]));
}

t.test('ok: rotate, publish-crl and fleet by hand', async (t) => {
  const fleet = await ca('fleet', ...targets, '--json');
  t.equal(fleet.code, 0, fleet.stderr);
  const rows = (JSON.parse(fleet.stdout) as { rows: { verdict: string; keyType: string }[] }).rows;
  t.equal(rows.length, 2);
  t.ok(rows.every((r) => r.keyType === 'rsa-2048'), fleet.stdout);
  const rotated = await ca('rotate', ...targets, '--lifetime', LISTENER, '--json');
  t.equal(rotated.code, 0, rotated.stderr + rotated.stdout);
  t.same((JSON.parse(rotated.stdout) as { rows: { status: string }[] }).rows.map((r) => r.status), ['rotated', 'rotated']);
  const skipped = await ca('rotate', ...targets, '--if-expires-within', '10s', '--json');
  t.same((JSON.parse(skipped.stdout) as { rows: { status: string }[] }).rows.map((r) => r.status), ['skipped', 'skipped'], '--if-expires-within skips fresh certificates');
  await ca('crl', '--lifetime', CRL);
  const published = await ca('publish-crl', ...targets, '--json');
  t.equal(published.code, 0, published.stderr);
  t.same((JSON.parse(published.stdout) as { rows: { status: string }[] }).rows.map((r) => r.status), ['published', 'published']);
  const again = await ca('publish-crl', ...targets, '--json');
  t.same((JSON.parse(again.stdout) as { rows: { status: string }[] }).rows.map((r) => r.status), ['current', 'current'], 'the same CRL again is already current');
  t.same(await masterRound(), []);
});

t.test('ok: maintain on a loop keeps every request allowed across several lifetimes; fail: stop it and the refusal follows', async (t) => {
  const refusals: string[] = [];
  let rounds = 0;
  let maintainRuns = 0;
  const maintainFailures: string[] = [];
  let stop = false;
  const until = Date.now() + 100_000; // more than two listener, three CRL and one connector lifetimes
  const maintainLoop = (async () => {
    while (!stop && Date.now() < until) {
      const r = await ca('maintain', ...targets, '--listener-lifetime', LISTENER, '--connector-lifetime', CONNECTOR, '--crl-lifetime', CRL);
      maintainRuns++;
      if (r.code !== 0) maintainFailures.push(r.stdout + r.stderr);
    }
  })();
  while (Date.now() < until) {
    refusals.push(...(await masterRound()));
    rounds++;
    await new Promise((r) => setTimeout(r, 200));
  }
  stop = true;
  await maintainLoop;
  t.ok(maintainRuns >= 3, `maintain ran ${maintainRuns} times`);
  t.same(maintainFailures, [], 'every maintain run succeeded');
  t.same(refusals, [], `no request refused in ${rounds} rounds`);

  // Maintain has stopped: within a CRL or certificate lifetime, every request is refused.
  const deadline = Date.now() + 60_000;
  let after: string[] = [];
  while (Date.now() < deadline && after.length === 0) {
    after = await masterRound();
    if (after.length === 0) await new Promise((r) => setTimeout(r, 500));
  }
  t.ok(after.length > 0, `refused once maintain stopped: ${after.join('; ')}`);
});
