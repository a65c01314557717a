import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NODE24, resolveNode, takeNodeOption } from '../../scripts/bench/runtime-options.js';
import { repoRoot } from '../fixtures/cli.js';

t.test('--node is taken out of the arguments, both spellings; the rest keeps its order', async (t) => {
  t.same(takeNodeOption(['--hosts', '100', '--node', '24', '--skip', 'pdsh']), { node: '24', rest: ['--hosts', '100', '--skip', 'pdsh'] });
  t.same(takeNodeOption(['--node=/opt/node/bin/node', 'x']), { node: '/opt/node/bin/node', rest: ['x'] });
  t.same(takeNodeOption(['--hosts', '5']), { node: undefined, rest: ['--hosts', '5'] });
  t.same(takeNodeOption(['--node']), { node: '', rest: [] }, 'a missing value is empty, which no Node is at');
});

t.test('24 and 20 name the cached Node 24 and the machine\'s node; anything else is a path', async (t) => {
  t.equal(resolveNode('24'), NODE24);
  t.equal(resolveNode('24', '/x/node'), '/x/node');
  t.equal(resolveNode('20'), 'node');
  t.equal(resolveNode('/usr/local/bin/node'), '/usr/local/bin/node');
});

t.test('a bench re-run under --node prints that runtime first and gets its other arguments', async (t) => {
  // runtime.ts is the smallest bench there is: the re-run and the runtime line, nothing else.
  const { stdout } = await promisify(execFile)(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'scripts/bench/runtime.ts'), '--node', process.execPath], { cwd: repoRoot, encoding: 'utf8' });
  t.equal(stdout, `runtime: Node ${process.version} (${process.execPath})\n`);
});
