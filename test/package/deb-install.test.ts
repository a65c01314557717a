/**
 * The Debian package, for real (root only): `scripts/package/build.ts` builds it, `dpkg -i` installs it on
 * this machine, and docs/install.md is followed step by step with the installed `/usr/bin/outpost` — CA on
 * the "master" (this test), a listener key made on the "host" and its CSR signed, the gateway's policy, the
 * launcher, agent and gateway started as the units start them (their users, their command lines) — until a
 * job runs as the job user through mutual TLS. Then the package is installed again over itself while a job
 * runs and the agent restarts as an upgrade restarts it: the job is re-adopted and ends well. Purge removes
 * what the package made. Every daemon must run the package's own Node (checked through /proc), not the
 * host's.
 *
 * Runs in the Node 20 pass only (scripts/test): what it tests is the package and the runtime inside it, not
 * the Node that runs the test.
 */
import t from 'tap';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isRoot, repoRoot, tempDir } from '../fixtures/cli.js';
import { waitFor } from '../fixtures/wait.js';

const execFileP = promisify(execFile);
const VERSION = '0.1.0+pkgtest';
const OUTPOST = '/usr/bin/outpost';
const BUNDLED_NODE = '/usr/lib/outpost/bin/node';
/** What a unit's process sees: system directories only, no NODE_* variables. */
const SYSTEM_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/' };

const installed = (): boolean => {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Status}', 'outpost'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('installed');
  } catch {
    return false;
  }
};

/**
 * `env -i` and the variables given, then the program: the test runner adds its own hooks to every child's
 * NODE_OPTIONS, which the installed daemons must not see (they would also try to write into the checkout).
 */
const clean = (env: Record<string, string>, argv: readonly string[]): string[] => ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];

async function sh(cmd: string, args: readonly string[], env: Record<string, string> = SYSTEM_ENV, timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileP('/usr/bin/env', clean(env, [cmd, ...args]), { timeout, maxBuffer: 16 << 20, encoding: 'utf8' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  log: () => string;
}

/** Starts `outpost ARGS` as USER with the unit's umask and the system environment, as systemd would. */
function startAs(user: string, name: string, args: readonly string[]): Daemon {
  // umask first, then setpriv execs the program as the user (no shell parses any value: they are "$@").
  const child = spawn('/usr/bin/env', clean(SYSTEM_ENV, ['/bin/sh', '-c', 'umask 0027 && exec setpriv --reuid="$0" --regid="$0" --init-groups -- "$@"', user, OUTPOST, ...args]), {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/',
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { name, child, log: () => out };
}

async function stop(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  const gone = new Promise((r) => d.child.once('exit', r));
  d.child.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
}

/** The executable a daemon runs: setpriv and the launcher script exec, so the pid is the program's own. */
const exeOf = (d: Daemon): string => readlinkSync(`/proc/${d.child.pid}/exe`);

const skip = !isRoot ? 'needs root (installs a package, creates system users)' : false;
t.setTimeout(600_000);

t.test('the package installs, runs a job through the installed gateway and agent, upgrades over itself keeping a running job, and purges', { skip }, async (t) => {
  // A package left by an interrupted earlier run would make dpkg -i an upgrade from an unknown state.
  if (installed()) await sh('dpkg', ['--purge', 'outpost']);
  const work = await tempDir(t, 'outpost-deb-');
  const daemons: Daemon[] = [];
  t.teardown(async () => {
    for (const d of daemons.reverse()) await stop(d);
    if (installed()) await sh('dpkg', ['--purge', 'outpost']).catch(() => undefined);
  });

  // --- build (no compression: the test checks the contents, not the size)
  const built = await execFileP(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'scripts/package/build.ts'), '--version', VERSION, '--out', work, '--compression', 'none'], { cwd: repoRoot, timeout: 300_000, encoding: 'utf8' });
  const { deb, installedKiB } = JSON.parse(built.stdout.trim().split('\n').pop() ?? '{}') as { deb: string; installedKiB: number };
  t.equal(deb, join(work, `outpost_${VERSION}_amd64.deb`), 'the .deb is named outpost_<version>_amd64.deb');
  const fields = await sh('dpkg-deb', ['-f', deb, 'Package', 'Version', 'Installed-Size', 'Depends']);
  t.match(fields.stdout, `Version: ${VERSION}`, 'control: version');
  t.match(fields.stdout, `Installed-Size: ${installedKiB}`, 'control: installed size');
  t.notMatch(fields.stdout, /nodejs/, 'the package does not depend on the host\'s Node.js');
  const contents = (await sh('dpkg-deb', ['-c', deb])).stdout;
  for (const path of ['./usr/bin/outpost', './usr/lib/outpost/bin/node', './usr/lib/outpost/dist/cli.js', './lib/systemd/system/outpost-agent.service', './etc/outpost/gateway.example.yaml']) {
    t.match(contents, ` ${path}\n`, `ships ${path}`);
  }
  for (const dev of ['node_modules/typescript/', 'node_modules/tap/', 'node_modules/eslint/', '.ts\n']) t.notMatch(contents, dev, `ships no ${dev.trim()}`);

  // --- install
  await sh('dpkg', ['-i', deb]);
  t.ok(installed(), 'dpkg reports the package installed');
  for (const user of ['outpost-agent', 'outpost-gw', 'outpost-job']) t.doesNotThrow(() => execFileSync('id', ['-u', user], { stdio: 'ignore' }), `user ${user} exists`);
  const agentYaml = statSync('/etc/outpost/agent/agent.yaml');
  t.equal(agentYaml.mode & 0o777, 0o600, 'agent.yaml is 0600');
  t.equal(statSync('/var/lib/outpost/agent').mode & 0o777, 0o700, 'the agent\'s data directory is 0700');
  t.match(await readFile('/etc/outpost/agent/agent.yaml', 'utf8'), /defaultUser: outpost-job/, 'jobs run as the job user');
  t.equal(execFileSync('visudo', ['-cqf', '/etc/sudoers.d/outpost']).length, 0, 'the sudoers drop-in passes visudo');

  // No Node on PATH at all: only a directory holding the outpost command.
  const bare = join(work, 'bare-bin');
  await mkdir(bare);
  await symlink(OUTPOST, join(bare, 'outpost'));
  const version = await sh('outpost', ['--version'], { PATH: bare });
  t.equal(version.stdout.trim(), VERSION, 'outpost --version with no Node on PATH prints the package version');

  // --- the CA, on the master (this test), as docs/install.md step 3
  const master = { ...SYSTEM_ENV, OUTPOST_HOME: join(work, 'master'), OUTPOST_CA_PASSWORD: 'test-ca-passphrase', NO_COLOR: '1' };
  await sh(OUTPOST, ['ca', 'init', '--cn', 'Package Test Root'], master);
  await sh(OUTPOST, ['ca', 'issue', 'connector', '--name', 'master01', '--make-default'], master);
  await sh(OUTPOST, ['ca', 'crl', '--out', join(work, 'ca.crl')], master);

  // --- the host's listener key and CSR, made on the host (step 4); signed on the master
  const gw = '/etc/outpost/gateway';
  await sh(OUTPOST, ['ca', 'request', '--name', 'web01', '--san', 'dns:localhost,ip:127.0.0.1', '--out-key', join(gw, 'listener.key'), '--out-csr', join(work, 'web01.csr')]);
  await sh(OUTPOST, ['ca', 'sign', join(work, 'web01.csr'), '--profile', 'listener', '--out', join(gw, 'listener.pem'), '--chain'], master);
  const list = JSON.parse((await sh(OUTPOST, ['ca', 'list', '--json'], master)).stdout) as { defaultRoot: string };
  await writeFile(join(gw, 'ca.pem'), await readFile(join(work, 'master/ca/roots', `${list.defaultRoot}.crt`)));
  await writeFile(join(gw, 'ca.crl'), await readFile(join(work, 'ca.crl')));

  // --- the gateway's policy (step 5), from the shipped example
  const port = await freePort();
  const example = await readFile('/etc/outpost/gateway.example.yaml', 'utf8');
  t.match(example, /listen: \{ host: 0\.0\.0\.0, port: 8443 \}/, 'the example listens on 8443');
  const policy = example
    .replace(/listen: \{[^}]*\}/, `listen: { host: 127.0.0.1, port: ${port} }`)
    .replace(/access:[\s\S]*?(?=\nauditLog:)/, 'access:\n  - name: master\n    sources: [127.0.0.1/32]\n    clients: { subjects: [CN=master01] }\n    methods: [GET, POST]');
  await writeFile(join(gw, 'gateway.yaml'), policy);
  await sh('/usr/lib/outpost/scripts/install', ['--packaged']);
  t.equal(statSync(join(gw, 'listener.key')).mode & 0o777, 0o600, 'the listener key is 0600 after the install step');
  t.equal(statSync(join(gw, 'listener.key')).uid, Number(execFileSync('id', ['-u', 'outpost-gw'], { encoding: 'utf8' })), 'and owned by the gateway user');
  await sh('setpriv', ['--reuid=outpost-gw', '--regid=outpost-gw', '--init-groups', '--', OUTPOST, 'gateway', 'check', '--config', join(gw, 'gateway.yaml')]);

  // --- start as the units do (step 6): launcher, agent, gateway
  const start = (): { launcher: Daemon; agent: Daemon } => {
    const launcher = startAs('outpost-agent', 'launcher', ['agent', 'launcher', '--config', '/etc/outpost/agent/agent.yaml', '--launcher-socket', '/run/outpost/launcher.sock']);
    const agent = startAs('outpost-agent', 'agent', ['agent', 'start', '--config', '/etc/outpost/agent/agent.yaml', '--launcher-socket', '/run/outpost/launcher.sock']);
    daemons.push(launcher, agent);
    return { launcher, agent };
  };
  let { agent } = start();
  const gateway = startAs('outpost-gw', 'gateway', ['gateway', 'start', '--config', join(gw, 'gateway.yaml')]);
  daemons.push(gateway);
  const url = `https://127.0.0.1:${port}`;
  const status = await waitFor(async () => {
    const r = await sh(OUTPOST, ['agent', 'status', '--agent', url, '--json'], master).catch(() => undefined);
    return r?.stdout;
  }, 60_000, `the installed agent to answer through the gateway\n${daemons.map((d) => `${d.name}: ${d.log()}`).join('\n')}`, 300);
  t.equal((JSON.parse(status) as { version?: string }).version, VERSION, 'agent status answers through the gateway with the package\'s version');
  for (const d of daemons) t.equal(exeOf(d), BUNDLED_NODE, `${d.name} runs the package's own Node`);

  // --- the first job (step 7): it runs as the job user
  const first = await sh(OUTPOST, ['job', 'run', '--agent', url, '--', 'id', '-un'], master);
  t.match(first.stdout, /outpost-job/, 'the job ran as outpost-job');

  // --- upgrade over itself while a job runs; the agent restarts as the upgrade restarts it
  const running = spawn('/usr/bin/env', clean(master, [OUTPOST, 'job', 'run', '--agent', url, '--json', '--description', 'across the upgrade', '--command', 'sleep 3; echo survived-the-upgrade']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let runOut = '';
  running.stdout.setEncoding('utf8').on('data', (d: string) => (runOut += d));
  running.stderr.setEncoding('utf8').on('data', (d: string) => (runOut += d));
  const runEnded = new Promise<number | null>((r) => running.on('close', r));
  const jobId = await waitFor(async () => {
    const r = await sh(OUTPOST, ['job', 'list', '--agent', url, '--json'], master).catch(() => undefined);
    const jobs = r ? (JSON.parse(r.stdout) as { jobs?: Array<{ id: string; state: string; command?: string }> } | Array<{ id: string; state: string; command?: string }>) : undefined;
    const all = Array.isArray(jobs) ? jobs : (jobs?.jobs ?? []);
    return all.find((j) => j.state === 'running' && JSON.stringify(j).includes('across the upgrade'))?.id;
  }, 30_000, 'the long job to be running', 200);

  await writeFile('/etc/outpost/agent.example.yaml', `${await readFile('/etc/outpost/agent.example.yaml', 'utf8')}# edited by the operator\n`);
  await sh('dpkg', ['-i', '--force-confold', deb]);
  t.match(await readFile('/etc/outpost/agent.example.yaml', 'utf8'), /# edited by the operator/, 'an edited conffile survives the upgrade');
  t.match(await readFile(join(gw, 'gateway.yaml'), 'utf8'), new RegExp(`port: ${port}`), 'the gateway policy survives the upgrade');
  await stop(agent);
  ({ agent } = start());
  const final = await waitFor(async () => {
    const r = await sh(OUTPOST, ['job', 'status', jobId, '--agent', url, '--json'], master).catch(() => undefined);
    const job = r ? (JSON.parse(r.stdout) as { state: string; exitCode?: number }) : undefined;
    return job && !['queued', 'running'].includes(job.state) ? job : undefined;
  }, 60_000, 'the job started before the upgrade to end', 300);
  t.equal(final.state, 'succeeded', 'the job started before the upgrade succeeded under the restarted agent');
  const output = await sh(OUTPOST, ['job', 'output', jobId, '--agent', url], master);
  t.match(output.stdout, /survived-the-upgrade/, 'with its whole output');
  t.equal(await runEnded, 0, `the master that submitted it reports success\n${runOut}`);
  t.equal(exeOf(agent), BUNDLED_NODE, 'the restarted agent runs the package\'s Node');

  // --- purge
  for (const d of [...daemons].reverse()) await stop(d);
  await sh('dpkg', ['--purge', 'outpost']);
  t.notOk(installed(), 'the package is gone');
  for (const path of ['/usr/lib/outpost', '/usr/bin/outpost', '/etc/outpost', '/var/lib/outpost', '/lib/systemd/system/outpost-agent.service', '/etc/sudoers.d/outpost']) {
    t.notOk(existsSync(path), `purge removed ${path}`);
  }
  t.doesNotThrow(() => execFileSync('id', ['-u', 'outpost-agent'], { stdio: 'ignore' }), 'the system users stay, as Debian leaves them');
  t.ok(readFileSync('/etc/passwd', 'utf8').includes('outpost-job:'), 'the job user too');
});
