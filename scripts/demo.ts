/**
 * `npm run demo`: the whole product in one command, on this machine, in a temporary directory.
 *   1. a certificate authority (`outpost ca init`) and its certificates: the gateway's listener, the
 *      master's connector (exported as PKCS#12) and a monitoring client's connector;
 *   2. an agent (`outpost agent start`, Unix socket) and a gateway in front of it (`outpost gateway start`,
 *      mutual TLS on 127.0.0.1) whose policy lets the master run jobs and the monitor only watch;
 *   3. a real job through mutual TLS with `outpost job run`, and the monitor refused a POST;
 *   4. where the status page is and how to open it.
 * Exits 0 and removes everything, or with --keep leaves the agent and gateway running until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');
const keep = process.argv.includes('--keep');
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s: string): string => (color ? `\u001b[1m${s}\u001b[0m` : s);
const dim = (s: string): string => (color ? `\u001b[2m${s}\u001b[0m` : s);

let step = 0;
const say = (title: string): void => void process.stdout.write(`\n${bold(`${++step}. ${title}`)}\n`);
const children: ChildProcess[] = [];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Shows a word as a shell would need it typed (display only: nothing here is ever run by a shell). */
const quote = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

interface RunOpts {
  cwd: string;
  env?: Record<string, string>;
  show?: boolean;
  /** Let the command write straight to this terminal (live output, in order); nothing is captured. */
  live?: boolean;
}

/** Runs `outpost ARGS`, echoing the command (relative paths, so it reads like the docs). */
function outpost(args: string[], opts: RunOpts): Promise<Result> {
  if (opts.show !== false) process.stdout.write(dim(`$ outpost ${args.map(quote).join(' ')}\n`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', opts.live ? 'inherit' : 'pipe', opts.live ? 'inherit' : 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function must(args: string[], opts: RunOpts): Promise<Result> {
  const r = await outpost(args, opts);
  if (r.code !== 0) throw new Error(`outpost ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r;
}

/** Starts a long-running `outpost … start` and resolves with the address it prints. */
function startDaemon(args: string[], cwd: string, pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; log: () => string }> {
  process.stdout.write(dim(`$ outpost ${args.map(quote).join(' ')} &\n`));
  const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  return new Promise((resolve, reject) => {
    const until = Date.now() + 30_000;
    const poll = (): void => {
      const m = pattern.exec(log);
      if (m) return resolve({ child, match: m, log: () => log });
      if (child.exitCode !== null || Date.now() > until) return reject(new Error(`outpost ${args.join(' ')} did not start:\n${log}`));
      setTimeout(poll, 25);
    };
    poll();
  });
}

async function stopAll(): Promise<void> {
  await Promise.all(children.reverse().map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  })));
}

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-'));
  const cwd = dir;
  process.stdout.write(`${bold('Outpost demo')} in ${dir}\n`);
  try {
    // --- 1. CA and certificates ------------------------------------------------------------------------
    say('A certificate authority and the certificates (passwords come from files, never argv)');
    await writeFile(join(dir, 'ca.password'), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'p12.password'), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    const ca = ['--ca-dir', 'ca', '--password-file', 'ca.password', '--json'];
    const rootCa = JSON.parse((await must(['ca', 'init', '--cn', 'Outpost Demo Root', '--key', 'rsa-2048', ...ca], { cwd })).stdout) as { certPath: string; thumbprint: string };
    // Three certificates at once: each key is generated in its own process; the CA store serialises the rest.
    const [listenerOut, masterOut, monitorOut] = await Promise.all([
      must(['ca', 'issue', 'listener', '--agent', 'gateway', '--san', 'dns:localhost,ip:127.0.0.1', '--key', 'rsa-2048', ...ca], { cwd }),
      must(['ca', 'issue', 'connector', '--name', 'master', '--key', 'rsa-2048', ...ca], { cwd }),
      must(['ca', 'issue', 'connector', '--name', 'monitor', '--key', 'rsa-2048', ...ca], { cwd }),
    ]);
    const listener = JSON.parse(listenerOut.stdout) as { certPath: string; keyPath: string; thumbprint: string };
    const master = JSON.parse(masterOut.stdout) as { thumbprint: string };
    const monitor = JSON.parse(monitorOut.stdout) as { certPath: string; keyPath: string; thumbprint: string };
    await must(['ca', 'export', master.thumbprint, '--out', 'master.p12', '--chain', '--p12-password-file', 'p12.password', '--ca-dir', 'ca', '--json'], { cwd });
    process.stdout.write(`   root ${rootCa.thumbprint.slice(0, 16)}…, gateway listener, master (master.p12), monitor (GET only)\n`);

    // --- 2. Agent and gateway ---------------------------------------------------------------------------
    say('An agent on a Unix socket, and the gateway in front of it (mutual TLS, default deny)');
    await writeFile(join(dir, 'agent.yaml'), stringify({
      listen: { socket: join(dir, 'agent.sock') },
      dataDir: join(dir, 'agent-data'),
      maxConcurrentJobs: 4,
      // One user runs everything in the demo, so jobs could read the agent's state: allowed, with a warning
      // at start. Installed agents run jobs as a dedicated user instead (docs/agent.md, "Security model").
      jobIsolation: 'warn',
    }));
    await writeFile(join(dir, 'gateway.yaml'), stringify({
      listen: { host: '127.0.0.1', port: 0 },
      tls: { cert: join(dir, listener.certPath), key: join(dir, listener.keyPath), ca: join(dir, rootCa.certPath) },
      upstream: { socket: join(dir, 'agent.sock') },
      access: [
        { name: 'master', sources: ['127.0.0.0/8', '::1/128'], clients: { thumbprints: [master.thumbprint] }, methods: ['GET', 'POST'] },
        { name: 'monitoring', sources: ['127.0.0.0/8', '::1/128'], clients: { thumbprints: [monitor.thumbprint] }, methods: ['GET'] },
      ],
      auditLog: join(dir, 'audit.log'),
      logLevel: 'warn',
    }), { mode: 0o600 });
    const agent = await startDaemon(['agent', 'start', '--config', 'agent.yaml'], cwd, /outpost agent listening on (\S+)/);
    process.stdout.write(`   agent listening on ${agent.match[1]} (pid ${agent.child.pid})\n`);
    const gateway = await startDaemon(['gateway', 'start', '--config', 'gateway.yaml'], cwd, /listening on (https:\/\/\S+)/);
    const url = gateway.match[1] as string;
    process.stdout.write(`   gateway listening on ${url} (pid ${gateway.child.pid})\n`);

    // --- 3. A real job through mutual TLS -------------------------------------------------------------
    say('The master runs a job through the gateway with its PKCS#12 connector certificate');
    const masterEnv = { OUTPOST_CERT: 'master.p12', OUTPOST_CERT_PASSWORD_FILE: 'p12.password', OUTPOST_CA: rootCa.certPath };
    process.stdout.write(dim('$ export OUTPOST_CERT=master.p12 OUTPOST_CERT_PASSWORD_FILE=p12.password OUTPOST_CA=' + rootCa.certPath + '\n'));
    const job = await outpost(['job', 'run', '--agent', url, '--description', 'demo on %{host}', '--', 'sh', '-c', 'echo "hello from $(uname -n) as $(id -un)"; echo "job $OUTPOST_JOB_ID"'], { cwd, env: masterEnv, live: true });
    if (job.code !== 0) throw new Error('the demo job failed');
    const failing = await outpost(['job', 'run', '--agent', url, '--', 'sh', '-c', 'echo failing on purpose; exit 3'], { cwd, env: masterEnv, live: true });
    process.stdout.write(`   exit status ${failing.code} (the job's own exit code, as ssh does)\n`);
    if (failing.code !== 3) throw new Error('the failing job did not report its exit code');

    // --- 4. A GET-only client --------------------------------------------------------------------------
    say('A monitoring client (GET only) may watch, and is refused a POST');
    const monitorEnv = { OUTPOST_CERT: monitor.certPath, OUTPOST_KEY: monitor.keyPath, OUTPOST_CA: rootCa.certPath };
    process.stdout.write(dim(`$ export OUTPOST_CERT=${monitor.certPath} OUTPOST_KEY=${monitor.keyPath}\n`));
    const status = await outpost(['agent', 'status', '--agent', url], { cwd, env: monitorEnv });
    process.stdout.write(status.stdout.split('\n').slice(0, 4).map((l) => `   ${l}`).join('\n') + '\n');
    if (status.code !== 0) throw new Error(`agent status failed: ${status.stderr}`);
    const refused = await outpost(['job', 'run', '--agent', url, '--', 'id'], { cwd, env: monitorEnv });
    process.stdout.write(refused.stderr.split('\n').filter((l) => /error|unreachable|ACCESS/.test(l)).map((l) => `   ${l}`).join('\n') + '\n');
    if (refused.code === 0 || !/MASTER_ACCESS_DENIED/.test(refused.stderr)) throw new Error('the monitor was not refused a POST');
    process.stdout.write('   refused, as it should be (exit status 1); the gateway audit log says why:\n');
    const audit = (await readFile(join(dir, 'audit.log'), 'utf8').catch(() => '')).trim().split('\n').filter((l) => l.includes('"POST"')).at(-1);
    if (audit) process.stdout.write(dim(`   ${audit}\n`));

    // --- 5. The status page ------------------------------------------------------------------------------
    say('The read-only status page');
    const tls = new Agent({ connect: { cert: await readFile(join(dir, monitor.certPath)), key: await readFile(join(dir, monitor.keyPath)), ca: await readFile(join(dir, rootCa.certPath)) } });
    const page = await request(`${url}/`, { dispatcher: tls });
    const html = await page.body.text();
    await tls.close();
    if (page.statusCode !== 200 || !html.includes('Outpost agent')) throw new Error(`status page answered ${page.statusCode}`);
    process.stdout.write(`   ${url}/  (HTTP ${page.statusCode}, ${html.length} bytes, served to the monitoring certificate)\n`);
    process.stdout.write(`   it lists the jobs (state, timings, exit codes) and each job's live output at ${url}/ui/jobs/ID\n`);
    process.stdout.write(`   open it with a client certificate, e.g.:\n`);
    process.stdout.write(dim(`   curl --cacert ${join(dir, rootCa.certPath)} --cert ${join(dir, monitor.certPath)} --key ${join(dir, monitor.keyPath)} ${url}/\n`));

    if (keep) {
      process.stdout.write(`\n${bold('Left running')} (--keep): agent pid ${agent.child.pid}, gateway pid ${gateway.child.pid}, files in ${dir}.\nPress Ctrl-C to stop and clean up.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    process.stdout.write(`\n${bold('Demo complete.')} Next: npm test runs every test.\n`);
    return 0;
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`\ndemo failed: ${(err as Error).message}\n`);
    await stopAll();
    process.exit(1);
  },
);
