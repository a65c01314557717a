/**
 * The npm package: `npm pack` of the built checkout holds the program and what it reads at run time (and
 * nothing of the sources, tests or source maps), and `npm install -g` of that tarball into a throwaway
 * prefix gives a working `outpost` — the CLI, a CA made with it, and the `outpost/master` library — with no
 * build step at install. Install scripts are skipped (ssh2's optional native accelerator would be compiled
 * otherwise; it falls back to JavaScript without it); dependencies come from npm's cache when it has them.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '../fixtures/cli.js';

const execFileP = promisify(execFile);
const pkg = (await import(join(repoRoot, 'package.json'), { with: { type: 'json' } })) as { default: { version: string; engines: { node: string } } };

async function run(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { ...options, timeout: 240_000, maxBuffer: 16 << 20, encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

t.setTimeout(480_000);

t.test('npm pack ships the built program; npm install -g of the tarball gives a working outpost', async (t) => {
  const work = await tempDir(t, 'outpost-npm-');
  // The test command has built dist/; --ignore-scripts keeps `prepare` from building it again.
  const packed = JSON.parse(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repoRoot })) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  const [tarball] = packed;
  if (!tarball) throw new Error('npm pack printed no tarball');
  t.equal(tarball.filename, `outpost-${pkg.default.version}.tgz`, 'tarball named outpost-<version>.tgz');
  const paths = tarball.files.map((f) => f.path);
  for (const p of ['dist/cli.js', 'dist/master/index.js', 'dist/master/index.d.ts', 'dist/agent/executors/local/killer.pl', 'dist/agent/executors/local/launcher.pl', 'dist/agent/executors/local/shim.pl', 'dist/agent/executors/local/become.pl', 'dist/agent/executors/ssh/launcher.pl', 'dist/agent/executors/ssh/remote/launch.sh', 'config/agent.example.yaml', 'config/systemd/outpost-agent.service', 'scripts/install', 'LICENSE', 'README.md', 'docs/install.md']) {
    t.ok(paths.includes(p), `ships ${p}`);
  }
  t.same(paths.filter((p) => p.startsWith('test/') || p.endsWith('.map') || (p.endsWith('.ts') && !p.endsWith('.d.ts')) || p.startsWith('node_modules/')), [], 'no tests, sources, source maps or node_modules');

  const prefix = join(work, 'prefix');
  await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', join(work, tarball.filename)], { cwd: work });
  const outpost = join(prefix, 'bin', 'outpost');
  const env = { ...process.env, OUTPOST_HOME: join(work, 'home'), OUTPOST_CA_PASSWORD: 'npm-pack-passphrase', NO_COLOR: '1' };
  t.equal((await run(outpost, ['--version'], { env })).trim(), pkg.default.version, 'outpost --version');
  t.match(await run(outpost, ['--help'], { env }), /agent[\s\S]*gateway[\s\S]*ca[\s\S]*job/, 'outpost --help lists the parts');
  await run(outpost, ['ca', 'init', '--cn', 'npm Test Root'], { env });
  await run(outpost, ['ca', 'issue', 'connector', '--name', 'master01'], { env });
  const list = JSON.parse(await run(outpost, ['ca', 'list', '--json'], { env })) as { defaultRoot?: string; certificates?: unknown[] };
  t.match(list.defaultRoot, /^[0-9a-f]{64}$/i, 'the installed CLI made a CA');

  // The library entry point, imported by name from a project that depends on the installed package.
  const app = join(work, 'app');
  await run('mkdir', ['-p', join(app, 'node_modules')]);
  await run('ln', ['-s', join(prefix, 'lib', 'node_modules', 'outpost'), join(app, 'node_modules', 'outpost')]);
  await writeFile(join(app, 'probe.mjs'), "import { runJobs, parseTargetSpec } from 'outpost/master';\nprocess.stdout.write(typeof runJobs + ' ' + parseTargetSpec('web01 https://web01:8443').candidates.join());\n");
  t.equal(await run(process.execPath, ['probe.mjs'], { cwd: app }), 'function https://web01:8443', "import { runJobs } from 'outpost/master' works");
});
