import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, parseConfig, parseYaml } from '../../core/config.js';
import { tempDir } from '../fixtures/cli.js';
import type { OutpostError } from '../../core/errors.js';

const schema = z
  .object({
    listen: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict(),
    tags: z.array(z.string()).default([]),
  })
  .strict();

t.test('ok: a valid document is parsed, defaulted and frozen', async (t) => {
  const cfg = parseConfig(schema, parseYaml('listen: { host: 127.0.0.1, port: 7411 }\n', 'x.yaml'), 'x.yaml');
  t.same(cfg, { listen: { host: '127.0.0.1', port: 7411 }, tags: [] });
  t.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.listen), 'deeply frozen');
});

t.test('fail: every bad key is reported with its path in one error', async (t) => {
  const raw = parseYaml('listen: { host: 1, port: 70000, colour: red }\ntags: [a, 2]\nextra: true\n', 'x.yaml');
  const err = t.throws(() => parseConfig(schema, raw, 'x.yaml')) as unknown as OutpostError;
  t.equal(err.code, 'CORE_CONFIG_INVALID');
  for (const path of ['listen.host', 'listen.port', 'listen.colour: unknown key', 'tags[1]', 'extra: unknown key']) {
    t.match(err.message, path, `names ${path}`);
  }
});

t.test('fail: YAML syntax errors and duplicate keys are refused', async (t) => {
  t.throws(() => parseYaml('a: [1, 2\n', 'bad.yaml'), { code: 'CORE_CONFIG_UNREADABLE' });
  t.throws(() => parseYaml('a: 1\na: 2\n', 'dup.yaml'), { code: 'CORE_CONFIG_UNREADABLE' });
});

t.test('fail: a document that is not a mapping is reported at (root)', async (t) => {
  const err = t.throws(() => parseConfig(schema, parseYaml('- a list\n', 'x.yaml'), 'x.yaml')) as unknown as OutpostError;
  t.match(err.message, /^x\.yaml is invalid:\n {2}\(root\): /);
  t.match(err.details, { problems: [{ path: '(root)' }] });
});

t.test('ok: an empty file is an empty mapping, so defaults apply and missing keys are named', async (t) => {
  const optional = z.object({ tags: z.array(z.string()).default(['any']) }).strict();
  t.same(parseConfig(optional, parseYaml('', 'empty.yaml'), 'empty.yaml'), { tags: ['any'] });
  t.same(parseConfig(optional, parseYaml('# only a comment\n', 'empty.yaml'), 'empty.yaml'), { tags: ['any'] });
  const err = t.throws(() => parseConfig(schema, parseYaml('', 'empty.yaml'), 'empty.yaml')) as unknown as OutpostError;
  t.match(err.details, { problems: [{ path: 'listen' }] }, 'not "(root): expected object"');
});

t.test('loadConfigFile: reads, parses and validates a file, naming it in every error', async (t) => {
  const dir = await tempDir(t);
  const good = join(dir, 'good.yaml');
  await writeFile(good, 'listen: { host: 127.0.0.1, port: 7411 }\n');
  t.same(await loadConfigFile(schema, good), { listen: { host: '127.0.0.1', port: 7411 }, tags: [] });

  const missing = join(dir, 'missing.yaml');
  await t.rejects(loadConfigFile(schema, missing), { code: 'CORE_CONFIG_UNREADABLE', message: `cannot read ${missing}: ENOENT` });
  await t.rejects(loadConfigFile(schema, dir), { code: 'CORE_CONFIG_UNREADABLE', message: `cannot read ${dir}: EISDIR` });

  const broken = join(dir, 'broken.yaml');
  await writeFile(broken, 'listen: [\n');
  await t.rejects(loadConfigFile(schema, broken), { code: 'CORE_CONFIG_UNREADABLE', message: new RegExp(`^${broken} is not valid YAML`) });

  const invalid = join(dir, 'invalid.yaml');
  await writeFile(invalid, 'listen: { host: 127.0.0.1, port: 0 }\n');
  await t.rejects(loadConfigFile(schema, invalid), { code: 'CORE_CONFIG_INVALID', message: new RegExp(`^${invalid} is invalid:\n {2}listen\\.port: `) });
});
