import t from 'tap';
import { z } from 'zod';
import { parseConfig, parseYaml } from '../../core/config.js';
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
