// Copies the executors' Perl and sh programs (agent/**/*.pl, *.sh) next to their compiled modules in dist/:
// tsc copies only what it compiles. Part of `npm run build`.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

export function programFiles(root) {
  return readdirSync(join(root, 'agent'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.pl') || f.endsWith('.sh'))
    .map((f) => join('agent', f));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of programFiles('.')) cpSync(file, join('dist', file));
}
