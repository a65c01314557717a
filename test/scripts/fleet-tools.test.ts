import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '../fixtures/cli.js';
import { startSimulatedFleet } from '../fixtures/fleet.js';

// The two helpers bench:fleet runs its clients with: they must stay correct, or its figures mean nothing.
const run = promisify(execFile);
const resolver = join(repoRoot, 'scripts/bench/fleet-resolver.mjs');
const floor = join(repoRoot, 'scripts/bench/fleet-floor.mjs');

t.test('the resolver answers the table\'s names (any case) and leaves every other name to the system', async (t) => {
  const server = createServer((s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const dir = await tempDir(t, 'outpost-fleet-resolver-');
  const hosts = join(dir, 'hosts');
  await writeFile(hosts, '# a comment\n127.1.0.9 h1.fleet.outpost.test h1\n');
  const dial = `const net = require('node:net');
    const one = (host) => new Promise((ok, ko) => { const s = net.connect({ host, port: ${port} }, () => { ok(host + '=' + s.remoteAddress); s.destroy(); }); s.on('error', ko); });
    Promise.all(['H1.Fleet.Outpost.Test', 'h1', 'localhost'].map(one)).then((r) => console.log(r.join(' ')));`;
  const { stdout } = await run(process.execPath, ['--import', resolver, '-e', dial], { env: { ...process.env, OUTPOST_BENCH_HOSTS: hosts } });
  t.equal(stdout.trim(), 'H1.Fleet.Outpost.Test=127.1.0.9 h1=127.1.0.9 localhost=127.0.0.1');
  await t.rejects(run(process.execPath, ['--import', resolver, '-e', '0'], { env: { ...process.env, OUTPOST_BENCH_HOSTS: '' } }), /names no hosts file/);
});

t.test('the floor makes one mutual-TLS request per host through the real gateways and counts failures', async (t) => {
  const fleet = await startSimulatedFleet(t, { pairs: 1, up: 3, refusing: 1 });
  const up = fleet.hosts.filter((h) => h.kind === 'up');
  const env = { ...process.env, ...fleet.env };
  const ok = await run(process.execPath, [floor, await fleet.agentsFile(up), '2'], { env });
  t.equal(ok.stdout, 'ok 3 failed 0\n');
  const all = await run(process.execPath, [floor, await fleet.agentsFile(), '2'], { env }).then(() => null, (err: { code: number; stdout: string }) => err);
  t.equal(all?.code, 1, 'a failed host fails the run');
  t.match(all?.stdout ?? '', /^ok 3 failed 1 \(.*ECONNREFUSED/);
  // A client the gateway does not know gets no answer: the floor checks what the master checks.
  const stranger = await run(process.execPath, [floor, await fleet.agentsFile(up.slice(0, 1)), '1'], {
    env: { ...env, OUTPOST_CERT: fleet.stacks[0]!.listener.certPath, OUTPOST_KEY: fleet.stacks[0]!.listener.keyPath },
  }).then(() => null, (err: { code: number; stdout: string }) => err);
  t.equal(stranger?.code, 1, 'a certificate the gateway refuses fails the host');
});
