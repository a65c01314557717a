import t from 'tap';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../core/logger.js';

t.test('secrets are redacted by key name at any depth', async (t) => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const logger = createLogger({ stream, defaultMeta: { part: 'test' } });
  logger.info('login', { user: 'batch', password: 'hunter2', nested: { headers: { authorization: 'Bearer abc' } } });
  await new Promise((r) => setImmediate(r));
  const line = JSON.parse(text.trim().split('\n')[0] ?? '{}') as Record<string, unknown>;
  t.equal(line.user, 'batch');
  t.equal(line.part, 'test');
  t.equal(line.password, '[redacted]');
  t.notMatch(text, /hunter2|Bearer abc/);
});
