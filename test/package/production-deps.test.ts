import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isShippedFile, productionPackages } from '../../scripts/package/production-deps.js';
import { repoRoot } from '../fixtures/cli.js';

t.test('ok: production packages only, no dev, devOptional, optional or linked entries', async (t) => {
  const lock = {
    lockfileVersion: 3,
    packages: {
      '': { name: 'outpost' },
      'node_modules/yaml': {},
      'node_modules/tap': { dev: true },
      'node_modules/fsevents': { devOptional: true },
      'node_modules/cpu-features': { optional: true },
      'node_modules/local': { link: true },
      'node_modules/logform/node_modules/@colors/colors': {},
    },
  };
  t.same(productionPackages(lock), ['node_modules/logform/node_modules/@colors/colors', 'node_modules/yaml']);
});

t.test('ok: the real lockfile ships the runtime dependencies and none of the tooling', async (t) => {
  const shipped = productionPackages(JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')));
  for (const p of ['commander', 'undici', 'yaml', 'zod', 'ssh2', 'node-forge', 'winston']) t.ok(shipped.includes(`node_modules/${p}`), p);
  for (const p of ['typescript', 'tap', 'eslint', 'tsx', 'cpu-features']) t.notOk(shipped.includes(`node_modules/${p}`), `not ${p}`);
});

t.test('fail: a lockfile npm 6 wrote (no packages map) is refused', async (t) => {
  t.throws(() => productionPackages({ lockfileVersion: 1, dependencies: {} }), /lockfile version 2 or 3/);
  t.throws(() => productionPackages(null), /lockfile version 2 or 3/);
});

t.test('isShippedFile keeps code and licences, drops what nothing reads', async (t) => {
  // yaml keeps code in dist/doc/: a build that dropped it could not read any configuration.
  for (const f of ['index.js', 'lib/x.mjs', 'LICENSE', 'package.json', 'dist/doc/directives.js', 'docs/x.cjs']) t.ok(isShippedFile(f), f);
  for (const f of ['index.d.ts', 'x.js.map', 'src/fecha.ts', 'README.md', 'docs/api.md', 'doc/guide.html', '.eslintrc', 'lib/.npmignore', 'build/Release/a.node', 'x.node']) {
    t.notOk(isShippedFile(f), f);
  }
});
