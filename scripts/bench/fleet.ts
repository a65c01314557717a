/**
 * `npm run bench:fleet -- --hosts 100,1000 [--pairs 4] [--fanouts 64,128] [--limit-seconds 600] [--no-baselines] [--skip ansible,pssh,pdsh,floor] [--key rsa-2048|ec-p256|…] [--ip-sans] [--cpu-prof DIR]`
 *
 * One master against a simulated fleet of N hosts on this machine, with the tools operators use for ad-hoc
 * fleet commands as the baseline, all running `true` against the same N addresses:
 *   outpost:  a few real agent + gateway pairs; each gateway listens on every loopback address, so host i is
 *             127.1.x.y with its own mutual-TLS connection. Hosts are named hNNNNN.fleet.outpost.test,
 *             resolved in the master's process from a hosts table (fleet-resolver.mjs), and each gateway
 *             presents one *.fleet.outpost.test certificate: one SAN, as a production host's certificate
 *             has. (--ip-sans: hosts are addresses and each certificate lists all N / pairs addresses its
 *             gateway answers for, which Node's TLS client parses on every connection — milliseconds per
 *             host at N = 5,000 that no production fleet pays.)
 *             `outpost job run --json --agents-file F --concurrency C -- true`.
 *   floor:    fleet-floor.mjs: per host one bare Node mutual-TLS connection to the same gateway, same
 *             certificates and checks, one `GET /v1/status`, close — what Node's TLS client costs by itself.
 *   pdsh:     `pdsh -R ssh -f C` (a fresh `ssh` per host), against one real sshd listening on every
 *             loopback address, key login, host key checked against a known_hosts pattern;
 *   pssh:     `parallel-ssh -p C`, same sshd and options;
 *   ansible:  `ansible all -m command -a true -f C` (forks = C), same sshd and options.
 * The ssh tools are given addresses and the outpost clients names answered without a name service, so no
 * tool pays for name resolution.
 * Reported per tool, N and fan-out: wall time, hosts/s, the client's peak RSS and CPU seconds (user + sys,
 * of the client and the children it waited for: GNU time). Prints markdown table rows for the README.
 * Needs root (OS user for the key login, sshd, apt-get for missing tools, open-file limit raised with
 * prlimit to the hard limit for every process it measures). Baselines that are missing and cannot be installed are skipped
 * with a notice; a run longer than --limit-seconds is stopped and reported as such.
 */
// First: --node re-runs this bench under another Node before anything else is loaded (runtime.ts).
import './runtime.js';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cliPath, isRoot, repoRoot } from '../../test/fixtures/cli.js';
import { createSharedPki, startStack, type Stack } from '../../test/fixtures/stack.js';
import { fleetAddress } from '../../test/fixtures/fleet.js';
import { KEY_NAMES, parseKeySpec, type KeySpec } from '../../ca/keys.js';
import { createSshUser, sshdSkipReason, startSshd } from '../../test/fixtures/sshd.js';

const run = promisify(execFile);
const benchDir = dirname(fileURLToPath(import.meta.url));
/** The simulated hosts' domain (.test is reserved for testing, RFC 2606). */
const FLEET_DOMAIN = 'fleet.outpost.test';
const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };

interface Args {
  hosts: number[];
  pairs: number;
  fanouts: number[];
  limitSeconds: number;
  baselines: boolean;
  skip: string[];
  /** Key type of the CA, the gateways' listeners and the master's connector. */
  key: KeySpec;
  /** Where the master writes a V8 CPU profile of each run (node --cpu-prof), to see where its time goes. */
  cpuProf: string | null;
  /**
   * `wildcard`: hosts are named hNNNNN.fleet.outpost.test and each gateway presents one `*.fleet.outpost.test`
   * certificate, as small as a production host's; `ip`: hosts are addresses and each gateway's certificate
   * lists every address it answers for (N / pairs SANs, which Node's TLS client pays for on every connection).
   */
  sans: 'wildcard' | 'ip';
}

function parseArgs(argv: string[]): Args {
  const args: Args = { hosts: [100, 1000, 5000], pairs: 4, fanouts: [64, 128], limitSeconds: 600, baselines: true, skip: [], key: { type: 'rsa', bits: 2048 }, cpuProf: null, sans: 'wildcard' };
  const list = (v: string | undefined, what: string): number[] => {
    const xs = (v ?? '').split(',').map(Number);
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`${what} wants positive integers, comma-separated`);
    return xs;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--hosts') args.hosts = list(argv[++i], '--hosts');
    else if (a === '--pairs') args.pairs = list(argv[++i], '--pairs')[0] ?? 4;
    else if (a === '--fanouts') args.fanouts = list(argv[++i], '--fanouts');
    else if (a === '--limit-seconds') args.limitSeconds = list(argv[++i], '--limit-seconds')[0] ?? 600;
    else if (a === '--no-baselines') args.baselines = false;
    else if (a === '--skip') args.skip = (argv[++i] ?? '').split(',');
    else if (a === '--cpu-prof') args.cpuProf = argv[++i] ?? null;
    else if (a === '--ip-sans') args.sans = 'ip';
    else if (a === '--key') {
      const spec = parseKeySpec(argv[++i] ?? '');
      if (!spec) throw new Error(`--key wants one of ${KEY_NAMES.join(', ')}`);
      args.key = spec;
    }
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

interface Measure {
  tool: string;
  n: number;
  fanout: number;
  wallS: number;
  rssMb: number;
  cpuS: number;
  exit: number | null;
  note: string;
}

/** Runs argv under GNU time (and prlimit for the open-file limit); wall, peak RSS, CPU of the tree. */
function measure(argv: string[], env: Record<string, string>, limitSeconds: number, nofile: number): Promise<{ wallS: number; rssMb: number; cpuS: number; exit: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %M %U %S', 'prlimit', `--nofile=${nofile}`, '--', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d.length + stdout.length > 4_000_000 ? '' : d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    const timer = setTimeout(() => {
      // The whole process group: the tool and every ssh it started.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, limitSeconds * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      resolve({
        wallS: m ? Number(m[1]) : wallS,
        rssMb: m ? Number(m[2]) / 1024 : NaN,
        cpuS: m ? Number(m[3]) + Number(m[4]) : NaN,
        exit: m ? code : null,
        stderr,
        stdout,
      });
    });
  });
}

async function ensureTools(): Promise<Map<string, string | null>> {
  const wanted: [string, string, string][] = [['pdsh', '/usr/bin/pdsh', 'pdsh'], ['pssh', '/usr/bin/parallel-ssh', 'pssh'], ['ansible', '/usr/bin/ansible', 'ansible-core']];
  const missing = wanted.filter(([, bin]) => !existsSync(bin)).map(([, , pkg]) => pkg);
  if (missing.length > 0 && isRoot) {
    process.stdout.write(`installing ${missing.join(', ')} with apt-get …\n`);
    await run('apt-get', ['install', '-y', '-q', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 16 * 1024 * 1024 })
      .catch((err: Error) => process.stdout.write(`apt-get failed: ${err.message.split('\n')[0]}\n`));
  }
  return new Map(wanted.map(([tool, bin, pkg]) => [tool, existsSync(bin) ? null : `${bin} missing (apt-get install ${pkg})`]));
}

function skipped(tools: Map<string, string | null>, skip: readonly string[]): Map<string, string | null> {
  return new Map([...tools].map(([tool, why]) => [tool, why ?? (skip.includes(tool) ? 'not asked (--skip)' : null)]));
}

const row = (m: Measure): string => {
  const rate = m.exit === 0 ? (m.n / m.wallS).toFixed(0) : '-';
  const perHost = Number.isFinite(m.cpuS) ? ((m.cpuS * 1000) / m.n).toFixed(2) : '-';
  return `| ${m.tool} | ${m.n} | ${m.fanout} | ${m.wallS.toFixed(1)} | ${rate} | ${Number.isFinite(m.rssMb) ? m.rssMb.toFixed(0) : '-'} | ` +
    `${Number.isFinite(m.cpuS) ? m.cpuS.toFixed(1) : '-'} | ${perHost} | ${m.note} |`;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!isRoot) throw new Error('bench:fleet needs root (sshd, an OS user for the key login, prlimit)');
  const max = Math.max(...args.hosts);
  // The soft open-file limit (often 1024) raised to the hard one for every process measured.
  const nofile = Number((await run('sh', ['-c', 'ulimit -Hn'])).stdout.trim()) || 65_536;
  if (nofile < max * 2) process.stdout.write(`note: the open-file hard limit is ${nofile}; ssh tools at ${max} hosts may run out\n`);
  const work = await mkdtemp(join(tmpdir(), 'outpost-bench-fleet-'));
  teardowns.push(() => rm(work, { recursive: true, force: true }));
  const addresses = Array.from({ length: max }, (_, i) => fleetAddress(i));
  const names = addresses.map((_, i) => `h${String(i + 1).padStart(5, '0')}`);
  // What the master and the floor dial: a name resolved by fleet-resolver.mjs from this table, or the address.
  const dialed = args.sans === 'wildcard' ? names.map((name) => `${name}.${FLEET_DOMAIN}`) : addresses;
  const hostsTable = join(work, 'hosts');
  await writeFile(hostsTable, addresses.map((a, i) => `${a} ${dialed[i]}`).join('\n') + '\n');
  const resolverArgs = args.sans === 'wildcard' ? ['--import', join(benchDir, 'fleet-resolver.mjs')] : [];

  process.stdout.write(`starting ${args.pairs} agent + gateway pairs answering as ${max} hosts (127.1.0.1 …) …\n`);
  const shared = await createSharedPki(t, work, args.key);
  process.stdout.write(`keys: ${args.key.type === 'rsa' ? `RSA-${args.key.bits}` : args.key.name} (CA, gateways, master)\n`);
  const stacks: Stack[] = [];
  for (let p = 0; p < args.pairs; p++) {
    stacks.push(await startStack(t, {
      host: '0.0.0.0',
      shared,
      listenerSans: args.sans === 'wildcard' ? [`dns:*.${FLEET_DOMAIN}`] : addresses.filter((_, i) => i % args.pairs === p).map((a) => `ip:${a}`),
      agentConfig: { maxConcurrentJobs: 64, queueLimit: 10_000 },
      // Every simulated host's connection comes from the master's one address: the per-source limit (64 by
      // default) would count a whole fleet's connections as one client's, as no real gateway sees them.
      gatewayConfig: { limits: { connectionsPerSource: 4096 } },
    }));
  }
  const env = { ...(stacks[0] as Stack).env, OUTPOST_BENCH_HOSTS: hostsTable };
  process.stdout.write(args.sans === 'wildcard'
    ? `hosts: h00001.${FLEET_DOMAIN} … (resolved in-process from a hosts table), one *.${FLEET_DOMAIN} certificate per gateway\n`
    : `hosts: addresses; each gateway's certificate lists the ${Math.ceil(max / args.pairs)} addresses it answers for\n`);

  const tools = args.baselines ? skipped(await ensureTools(), args.skip) : new Map<string, string | null>();
  const sshSkip = args.baselines ? sshdSkipReason() : 'not asked (--no-baselines)';
  let ssh: { port: number; user: string; key: string; knownHosts: string } | null = null;
  if (!sshSkip) {
    const sshd = await startSshd(t, { host: '0.0.0.0', maxSessions: 10 });
    const user = await createSshUser(t, 'bench-fleet', work, { passphrase: '' });
    // One host key answers for every address: a pattern in known_hosts, still checked strictly.
    const key = (await readFile(sshd.knownHostsFile, 'utf8')).trim().split(/\s+/).slice(1, 3).join(' ');
    const knownHosts = join(work, 'known_hosts');
    await writeFile(knownHosts, `[127.1.*]:${sshd.port} ${key}\n`);
    ssh = { port: sshd.port, user: user.name, key: user.privateKeyPath, knownHosts };
  }
  const sshOptions = (s: NonNullable<typeof ssh>): string[] => [
    '-i', s.key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${s.knownHosts}`,
    '-o', 'ControlMaster=no', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
  ];

  const results: Measure[] = [];
  const record = (m: Measure): void => {
    results.push(m);
    process.stdout.write(`${row(m)}\n`);
  };
  process.stdout.write('\n| tool | hosts | fan-out | wall s | hosts/s | peak RSS MB | CPU s | CPU ms/host | note |\n|---|---|---|---|---|---|---|---|---|\n');
  for (const n of args.hosts) {
    const agentsFile = join(work, `agents-${n}.txt`);
    await writeFile(agentsFile, names.slice(0, n).map((name, i) => `${name} https://${dialed[i]}:${(stacks[i % args.pairs] as Stack).port}`).join('\n') + '\n');
    const hostsFile = join(work, `hosts-${n}.txt`);
    await writeFile(hostsFile, addresses.slice(0, n).join('\n') + '\n');
    const inventory = join(work, `inventory-${n}.ini`);
    await writeFile(inventory, `[fleet]\n${names.slice(0, n).map((name, i) => `${name} ansible_host=${addresses[i]}`).join('\n')}\n`);

    for (const c of args.fanouts) {
      const prof = args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`, `--cpu-prof-name=master-${n}-${c}.cpuprofile`] : [];
      const o = await measure([process.execPath, ...resolverArgs, ...prof, cliPath, 'job', 'run', '--json', '--agents-file', agentsFile, '--concurrency', String(c), '--', 'true'], env, args.limitSeconds, nofile);
      const summary = o.stdout.trim().split('\n').at(-1) ?? '';
      const doc = /"type":"summary"/.test(summary) ? (JSON.parse(summary) as { states: Record<string, number>; failures: { key: string; count: number }[] }) : null;
      const causes = (doc?.failures ?? []).map((f) => `${f.count} ${f.key}`).join(', ');
      record({ tool: 'outpost job run', n, fanout: c, ...o, note: o.exit === null ? `stopped after ${args.limitSeconds} s` : `${doc?.states.succeeded ?? 0}/${n} succeeded${causes ? ` (${causes})` : ''}` });

      if (!args.skip.includes('floor')) {
        const f = await measure([process.execPath, ...resolverArgs, join(benchDir, 'fleet-floor.mjs'), agentsFile, String(c)], env, args.limitSeconds, nofile);
        record({ tool: 'floor: node tls, 1 request', n, fanout: c, ...f, note: f.exit === null ? `stopped after ${args.limitSeconds} s` : f.stdout.trim() });
      }

      if (!ssh) continue;
      const s = ssh;
      if (tools.get('pdsh') === null) {
        const p = await measure(['pdsh', '-R', 'ssh', '-f', String(c), '-l', s.user, '-w', `^${hostsFile}`, 'true'], {
          PDSH_SSH_ARGS: `-p ${s.port} ${sshOptions(s).join(' ')} -l %u %h`,
        }, args.limitSeconds, nofile);
        record({ tool: 'pdsh -R ssh', n, fanout: c, ...p, note: p.exit === 0 ? 'all succeeded' : p.exit === null ? `stopped after ${args.limitSeconds} s` : `exit ${p.exit}: ${p.stderr.split('\n')[0] ?? ''}` });
      }
      if (tools.get('pssh') === null) {
        const p = await measure(['parallel-ssh', '-h', hostsFile, '-p', String(c), '-l', s.user, '-t', '60',
          '-x', `-p ${s.port} ${sshOptions(s).join(' ')}`, 'true'], {}, args.limitSeconds, nofile);
        record({ tool: 'parallel-ssh', n, fanout: c, ...p, note: p.exit === 0 ? 'all succeeded' : p.exit === null ? `stopped after ${args.limitSeconds} s` : `exit ${p.exit}: ${p.stderr.split("\n")[0] ?? ""}` });
      }
      if (tools.get('ansible') === null) {
        const a = await measure(['ansible', 'fleet', '-i', inventory, '-m', 'command', '-a', 'true', '-f', String(c), '-u', s.user,
          '--private-key', s.key, '-e', `ansible_port=${s.port}`, `--ssh-common-args=${sshOptions(s).slice(2).join(' ')}`], {
          ANSIBLE_HOST_KEY_CHECKING: 'True',
          ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
          ANSIBLE_LOCAL_TEMP: join(work, 'ansible-local'),
          ANSIBLE_SSH_ARGS: '-o ControlMaster=no',
          ANSIBLE_NOCOLOR: '1',
        }, args.limitSeconds, nofile);
        const why = (a.stdout + a.stderr).split('\n').find((l) => /UNREACHABLE|FAILED|ERROR/.test(l)) ?? a.stderr.split('\n')[0] ?? '';
        record({ tool: 'ansible (command)', n, fanout: c, ...a, note: a.exit === 0 ? 'all succeeded' : a.exit === null ? `stopped after ${args.limitSeconds} s` : `exit ${a.exit}: ${why.slice(0, 160)}` });
      }
    }
  }
  if (sshSkip) process.stdout.write(`\nssh baselines skipped: ${sshSkip}\n`);
  for (const [tool, why] of tools) if (why) process.stdout.write(`${tool} skipped: ${why}\n`);
  const cpu = await run('nproc').then((r) => r.stdout.trim(), () => '?');
  process.stdout.write(`\n(${cpu} CPUs; agents, gateways, sshd and the clients share them; the figures move with the machine's load)\n`);
  await mkdir(join(repoRoot, 'bench-results'), { recursive: true });
  await writeFile(join(repoRoot, 'bench-results', 'fleet.json'), `${JSON.stringify({ when: new Date().toISOString(), cpus: cpu, args, results }, null, 2)}\n`);
  process.stdout.write('wrote bench-results/fleet.json\n');
}

try {
  await main();
} finally {
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}
process.exit(0);
