/**
 * Which installed npm packages a package build ships: the production closure recorded in package-lock.json
 * (lockfile v2/v3 mark development-only entries `dev` or `devOptional`). Optional packages are left out too:
 * here they are ssh2's native accelerators (cpu-features and its build helpers), compiled at `npm ci` for
 * the build machine's Node, whose ABI the bundled Node 24 does not share; ssh2 falls back to JavaScript
 * without them. Pure: takes the parsed lockfile, returns paths relative to the project root.
 */

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
}

interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, LockEntry>;
}

export function productionPackages(lock: unknown): string[] {
  const l = lock as Lockfile;
  if (typeof l !== 'object' || l === null || (l.lockfileVersion ?? 0) < 2 || typeof l.packages !== 'object') {
    throw new Error('package-lock.json must be lockfile version 2 or 3 (npm 7 and later)');
  }
  const out: string[] = [];
  for (const [path, entry] of Object.entries(l.packages)) {
    // "" is the project itself; links point into the workspace, which a package build does not ship.
    if (path === '' || !path.startsWith('node_modules/')) continue;
    if (entry.dev || entry.devOptional || entry.optional || entry.link) continue;
    out.push(path);
  }
  return out.sort();
}

/**
 * Files of a shipped file tree (dist/, an npm package) that the program never reads: type declarations,
 * source maps, TypeScript sources, read-me, change logs, documentation (not code kept in a folder named doc), dotfiles,
 * and native build trees (made for the build machine's Node; each loader falls back when they are absent). Licence files stay beside the code they cover.
 */
export function isShippedFile(relativePath: string): boolean {
  if (/(^|\/)(README|CHANGELOG|HISTORY)(\.[a-z]+)?$/i.test(relativePath)) return false;
  // The packages' own tooling files (.eslintrc, .npmignore, .gitattributes).
  if (/(^|\/)\.[^/]+$/.test(relativePath)) return false;
  // Documentation trees, but not code that lives in a folder named doc (yaml's dist/doc/*.js is).
  if (/(^|\/)docs?\//.test(relativePath) && !/\.(c|m)?js$|\.json$/.test(relativePath)) return false;
  // Type declarations, source maps and TypeScript sources beside their compiled code: Node loads none.
  if (/\.(d\.ts|d\.mts|d\.cts|map|ts|mts|cts)$/.test(relativePath)) return false;
  if (/(^|\/)build\/(Release|Debug)\//.test(relativePath)) return false;
  if (/\.node$/.test(relativePath)) return false;
  return true;
}
