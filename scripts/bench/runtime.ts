/**
 * Which Node a benchmark measures. Imported first by every bench (its side effect runs before the bench's
 * own code): `--node PATH` re-runs the bench under that Node, so what the bench does in-process and every
 * Outpost process it starts (they are started with process.execPath) run on it; `--node 24` and `--node 20`
 * name the runtimes this repository knows (Node 24 LTS as the test command caches it, the machine's `node`).
 * The first line of every bench's output names the runtime it measured.
 *
 *   npm run bench:gateway -- --node 24
 *   npm run bench:agent -- --node /opt/node-v24/bin/node
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NODE24, resolveNode, takeNodeOption } from './runtime-options.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

const { node, rest } = takeNodeOption(process.argv.slice(2));
const script = process.argv[1] as string;
if (node !== undefined && process.env.OUTPOST_BENCH_RUNTIME !== '1') {
  const bin = resolveNode(node);
  if (node === '24' && !existsSync(NODE24)) {
    process.stderr.write(`bench: Node 24 is not at ${bin}; run npm test once (it fetches it) or give --node PATH\n`);
    process.exit(2);
  }
  // tsx as a loader: the bench is TypeScript, and the other Node has no tsx binary of its own.
  const run = spawnSync(bin, ['--import', 'tsx', script, ...rest], { stdio: 'inherit', env: { ...process.env, OUTPOST_BENCH_RUNTIME: '1' }, cwd: root });
  if (run.error) {
    process.stderr.write(`bench: cannot run ${bin}: ${run.error.message}\n`);
    process.exit(2);
  }
  process.exit(run.status ?? 1);
}
process.argv.splice(2, process.argv.length - 2, ...rest);
process.stdout.write(`runtime: Node ${process.version} (${process.execPath})\n`);
