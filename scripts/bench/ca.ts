/**
 * `npm run bench:ca`: certificates per second, our CA library against the `openssl` CLI, same key size
 * (RSA-2048), measured in the same run:
 *   1. issuance with key generation — ours: one process, async native keygen (libuv pool, both cores),
 *      forge-built TBS signed natively; CLI: `openssl req -newkey` + `openssl x509 -req` per certificate,
 *      one after another (as an operator script does) and two at a time (both cores).
 *   2. CSR signing alone — ours: parse + verify the CSR natively, build and sign; CLI: `openssl x509 -req`.
 * Targets: issuance ≥ 1.5× the CLI, CSR signing ≥ 300/s. Writes bench-results/ca.json.
 */
// First: --node re-runs this bench under another Node before anything else is loaded (runtime.ts).
import './runtime.js';
import { execFile } from 'node:child_process';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { generateRsaKey } from '../../ca/keys.js';
import { buildCertificate, type Issuer } from '../../ca/x509.js';
import { buildCsr, parseCsr } from '../../ca/csr.js';
import { randomSerialHex } from '../../ca/serial.js';
import { privateKeyPem } from '../../ca/keys.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const DAY = 86_400_000;
const N_OURS_ISSUE = 40;
const N_CLI_ISSUE = 12;
const N_OURS_SIGN = 1000;
const N_CLI_SIGN = 30;

interface Rate {
  /** per wall-clock second */
  wall: number;
  /** per CPU-second actually used (this process's threads, or the waited-for openssl children) */
  cpu: number;
}

/** CPU seconds of this process (all threads, so the keygen pool too). */
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** CPU seconds of waited-for children (cutime + cstime in /proc/self/stat, in clock ticks of 1/100 s). */
async function childCpu(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/**
 * Runs `fn` n times with `concurrency` in flight. The machine is shared, so besides the wall-clock rate
 * the CPU-time rate is reported: it stays comparable when other work steals the cores.
 */
async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>, children = false): Promise<Rate> {
  let next = 0;
  const cpu0 = children ? await childCpu() : selfCpu();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = (children ? await childCpu() : selfCpu()) - cpu0;
  return { wall: n / wall, cpu: n / Math.max(cpu, 1e-3) };
}

const EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth',
  'subjectAltName=DNS:localhost,IP:127.0.0.1', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'].join('\n');

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-ca-'));
  try {
    // One root for both sides: the CLI signs with the same key.
    const rootKey = await generateRsaKey(2048);
    const rootCert = buildCertificate({ serialHex: randomSerialHex(), subject: { commonName: 'Bench Root' }, publicKey: rootKey.publicKey, signingKey: rootKey.privateKey,
      notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 365 * DAY), profile: 'root' });
    const caCrt = join(dir, 'ca.crt');
    const caKey = join(dir, 'ca.key');
    const extFile = join(dir, 'ext.cnf');
    await writeFile(caCrt, rootCert.pem);
    await writeFile(caKey, privateKeyPem(rootKey.privateKey), { mode: 0o600 });
    await writeFile(extFile, `${EXT}\n`);
    const issuer: Issuer = { cert: new X509Certificate(rootCert.pem), key: rootKey.privateKey };
    const sans = [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] as const;
    const sign = (publicKey: KeyObject, name: string) =>
      buildCertificate({ serialHex: randomSerialHex(), subject: { commonName: name }, publicKey, notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 90 * DAY), profile: 'listener', sans, issuer });

    // warm-up (JIT, OpenSSL tables)
    sign((await generateRsaKey(2048)).publicKey, 'warm');

    const concurrency = Math.max(2, availableParallelism() * 2);
    const oursIssue = await pool(N_OURS_ISSUE, concurrency, async (i) => {
      const key = await generateRsaKey(2048);
      sign(key.publicKey, `agent-${i}`);
      privateKeyPem(key.privateKey);
    });

    const cliOne = async (i: number, tag: string): Promise<void> => {
      const k = join(dir, `${tag}${i}.key`);
      const r = join(dir, `${tag}${i}.csr`);
      await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', k, '-subj', `/CN=agent-${i}`, '-out', r]);
      await run('openssl', ['x509', '-req', '-in', r, '-CA', caCrt, '-CAkey', caKey, '-set_serial', `0x${randomSerialHex()}`, '-days', '90', '-sha256', '-extfile', extFile, '-out', join(dir, `${tag}${i}.crt`)]);
    };
    const cliIssueSeq = await pool(N_CLI_ISSUE, 1, (i) => cliOne(i, 's'), true);
    const cliIssuePar = await pool(N_CLI_ISSUE, availableParallelism(), (i) => cliOne(i, 'p'), true);

    // CSR signing alone: the same CSRs for both (made by openssl req above).
    const csrs = await Promise.all(Array.from({ length: N_CLI_ISSUE }, (_, i) => readFile(join(dir, `s${i}.csr`), 'utf8')));
    const ourCsr = buildCsr('agent-x', [...sans], (await generateRsaKey(2048)).privateKey);
    csrs.push(ourCsr);
    const oursSign = await pool(N_OURS_SIGN, 1, async (i) => {
      const csr = parseCsr(csrs[i % csrs.length] ?? ourCsr);
      sign(csr.publicKey, csr.commonName || 'agent');
    });
    const cliSign = await pool(N_CLI_SIGN, 1, async (i) => {
      await run('openssl', ['x509', '-req', '-in', join(dir, `s${i % N_CLI_ISSUE}.csr`), '-CA', caCrt, '-CAkey', caKey, '-set_serial', `0x${randomSerialHex()}`,
        '-days', '90', '-sha256', '-extfile', extFile, '-out', join(dir, `sig${i}.crt`)]);
    }, true);

    const rows = [
      { what: 'issue listener cert incl. RSA-2048 keygen', ours: oursIssue, cli: cliIssueSeq, cliLabel: 'openssl CLI, sequential', target: 1.5 },
      { what: 'issue listener cert incl. RSA-2048 keygen', ours: oursIssue, cli: cliIssuePar, cliLabel: `openssl CLI, ${availableParallelism()} parallel`, target: undefined },
      { what: 'sign a CSR', ours: oursSign, cli: cliSign, cliLabel: 'openssl x509 -req, sequential', target: undefined },
    ];
    const fmt = (n: number): string => n.toFixed(1).padStart(8);
    console.log(`\nCA benchmark — ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, Node ${process.version}, load average ${loadavg()[0]?.toFixed(1)}\n`);
    console.log(`${'measure (per second)'.padEnd(44)} ${'ours'.padStart(8)} ${'baseline'.padStart(8)}  ratio  | per CPU-s: ${'ours'.padStart(8)} ${'baseline'.padStart(8)}  ratio  baseline`);
    for (const r of rows) {
      const ratio = r.ours.wall / r.cli.wall;
      const cpuRatio = r.ours.cpu / r.cli.cpu;
      console.log(`${r.what.padEnd(44)} ${fmt(r.ours.wall)} ${fmt(r.cli.wall)} ${ratio.toFixed(1).padStart(5)}×  |            ${fmt(r.ours.cpu)} ${fmt(r.cli.cpu)} ${cpuRatio.toFixed(1).padStart(5)}×  ${r.cliLabel}${r.target ? ` (target ≥ ${r.target}×: ${ratio >= r.target ? 'met' : 'NOT met'})` : ''}`);
    }
    console.log(`\nCSR signing target ≥ 300/s: ${oursSign.wall >= 300 ? 'met' : 'NOT met'} (${oursSign.wall.toFixed(0)}/s wall clock, ${oursSign.cpu.toFixed(0)} per CPU-second on one thread)`);
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      keyBits: 2048,
      loadAverage: loadavg()[0],
      issuePerSecond: { ours: oursIssue, opensslCliSequential: cliIssueSeq, opensslCliParallel: cliIssuePar, ratioVsSequential: oursIssue.wall / cliIssueSeq.wall, ratioVsParallel: oursIssue.wall / cliIssuePar.wall },
      csrSignPerSecond: { ours: oursSign, opensslCli: cliSign, ratio: oursSign.wall / cliSign.wall },
      targets: { issueRatio: 1.5, csrSignPerSecond: 300 },
      samples: { oursIssue: N_OURS_ISSUE, cliIssue: N_CLI_ISSUE, oursSign: N_OURS_SIGN, cliSign: N_CLI_SIGN },
    };
    await mkdir(join(root, 'bench-results'), { recursive: true });
    await writeFile(join(root, 'bench-results', 'ca.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log('wrote bench-results/ca.json');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
