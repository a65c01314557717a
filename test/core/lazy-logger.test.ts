import t from 'tap';
import { PassThrough } from 'node:stream';
import { lazyLogger } from '../../core/lazy-logger.js';

t.test('the level filters before winston is loaded and can be changed (a reload)', async (t) => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const logger = lazyLogger({ level: 'warn', stream, defaultMeta: { part: 'test' } });
  logger.info('dropped');
  logger.warn('kept', { n: 1 });
  await logger.settled();
  await new Promise((r) => setImmediate(r));
  t.equal(logger.level, 'warn');
  logger.level = 'info';
  logger.info('now kept');
  logger.debug('still dropped');
  await logger.settled();
  await new Promise((r) => setImmediate(r));
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.map((l) => l.message), ['kept', 'now kept']);
  t.equal(lines[0]?.part, 'test');
  logger.level = 'error';
  logger.warn('dropped after the logger exists');
  await logger.settled();
  await new Promise((r) => setImmediate(r));
  t.equal(text.trim().split('\n').length, 2);
});
