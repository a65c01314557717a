/**
 * The module boundaries the code keeps, checked on every run so they cannot erode: no import cycles;
 * core/ imports no part; a part imports only core/ and, for the gateway and the master, the CA's key and
 * certificate helpers; and the agent daemon's startup path does not load zod, yaml or winston (its
 * configuration is validated in a worker and its logger loads winston on first use: the resident-memory
 * target depends on it).
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { findCycles, importsOf, moduleGraph, staticClosure, type Edge } from '../fixtures/import-graph.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PARTS = ['core', 'agent', 'gateway', 'ca', 'master'] as const;
const edges = moduleGraph(root, ['cli.ts', ...PARTS]);
const local = edges.filter((e) => e.to.endsWith('.ts'));
const partOf = (file: string): string => file.split('/')[0]!;

/** Which parts each part may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  agent: ['core'],
  ca: ['core'],
  gateway: ['core', 'ca'],
  master: ['core', 'ca'],
  'cli.ts': ['core', 'agent', 'gateway', 'ca', 'master'],
};

t.test('the import parser sees what loads at run time', async (t) => {
  const src = [
    "import type { A } from './a.js';",
    "import { b } from './b.js';",
    "export { c } from '../c.js';",
    "import './side-effect.js';",
    "const d = await import('./d.js');",
    "import { z } from 'zod';",
  ].join('\n');
  t.same(importsOf('agent/x.ts', src).map((e) => `${e.to}${e.dynamic ? ' (dynamic)' : ''}`), ['agent/b.ts', 'c.ts', 'agent/side-effect.ts', 'agent/d.ts (dynamic)', 'zod']);
});

t.test('the cycle finder finds a cycle and only once', async (t) => {
  const e = (from: string, to: string): Edge => ({ from, to, dynamic: false });
  t.same(findCycles([e('a', 'b'), e('b', 'c'), e('c', 'a'), e('c', 'd')]), [['a', 'b', 'c', 'a']]);
  t.same(findCycles([e('a', 'b'), e('b', 'c')]), []);
});

t.test('the sources were found', async (t) => {
  t.ok(local.length > 200, `${local.length} imports between the repository's files`);
  t.ok(local.some((e) => e.from === 'agent/main.ts'), 'agent/main.ts is in the graph');
});

t.test('no import cycles', async (t) => {
  t.same(findCycles(local), [], 'break a cycle by moving what both sides need into a third module');
});

t.test('parts import only what they may', async (t) => {
  const wrong = local
    .filter((e) => partOf(e.from) !== partOf(e.to) && !(ALLOWED[partOf(e.from)] ?? []).includes(partOf(e.to)))
    .map((e) => `${e.from} -> ${e.to}`);
  t.same(wrong, [], 'core/ imports no part; agent/ only core/; the gateway and master core/ and ca/');
});

t.test('the agent daemon starts without zod, yaml or winston', async (t) => {
  // `outpost agent start` loads cli.ts, then agent/cli.ts, then agent/main.ts.
  for (const entry of ['cli.ts', 'agent/cli.ts', 'agent/main.ts']) {
    const loaded = staticClosure(edges, entry);
    t.same([...loaded].filter((m) => ['zod', 'yaml', 'winston'].includes(m)), [], entry);
  }
  t.ok(staticClosure(edges, 'agent/main.ts').has('agent/server.ts'), 'the closure follows static imports');
  t.ok(staticClosure(edges, 'agent/config.ts').has('zod'), 'and would see zod if the daemon loaded the schema');
});

t.test('the agent daemon uses the API contract\'s types and headers, never its document\'s schemas', async (t) => {
  const loaded = staticClosure(edges, 'agent/main.ts');
  t.ok(loaded.has('core/api/contract.ts'), 'the contract');
  t.notOk(loaded.has('core/api/routes.ts'), 'not the routes and JSON Schemas (only the document generator and tests need them)');
});
