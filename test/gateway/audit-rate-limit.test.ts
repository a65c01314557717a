import t from 'tap';
import { AuditRateLimit } from '../../gateway/audit-rate-limit.js';

t.test('ok: the first refusal of a source in an interval is written, the rest counted', async (t) => {
  const rl = new AuditRateLimit(60_000, 100);
  t.same(rl.hit('192.0.2.1', 1000), { write: true, summaries: [] });
  t.same(rl.hit('192.0.2.1', 1500), { write: false, summaries: [] });
  t.same(rl.hit('192.0.2.1', 2000), { write: false, summaries: [] });
  t.same(rl.hit('192.0.2.2', 2100), { write: true, summaries: [] }, 'another source has its own interval');
  t.same(rl.due(60_999), [], 'nothing is due before the interval ends');
  t.same(rl.due(61_000), [{ src: '192.0.2.1', count: 2, firstAt: 1500, lastAt: 2000 }]);
  t.same(rl.due(62_100), [], 'a source with nothing held back ends without a line');
  t.equal(rl.tracked(), 0);
  t.same(rl.hit('192.0.2.1', 70_000), { write: true, summaries: [] }, 'a new interval starts with a written line');
});

t.test('ok: a refusal after the interval, before `due` ran, carries the summary', async (t) => {
  const rl = new AuditRateLimit(10_000, 100);
  rl.hit('198.51.100.7', 0);
  rl.hit('198.51.100.7', 5);
  t.same(rl.hit('198.51.100.7', 10_000), { write: true, summaries: [{ src: '198.51.100.7', count: 1, firstAt: 5, lastAt: 5 }] });
  t.same(rl.hit('198.51.100.7', 10_001), { write: false, summaries: [] });
});

t.test('ok: drain gives back everything held, for the stop', async (t) => {
  const rl = new AuditRateLimit(60_000, 100);
  for (let i = 0; i < 5; i++) rl.hit('a', i);
  rl.hit('b', 10);
  t.same(rl.drain(), [{ src: 'a', count: 4, firstAt: 1, lastAt: 4 }]);
  t.equal(rl.tracked(), 0);
});

t.test('ok: interval 0 writes every refusal and tracks nothing', async (t) => {
  const rl = new AuditRateLimit(0, 100);
  for (let i = 0; i < 3; i++) t.same(rl.hit('a', i), { write: true, summaries: [] });
  t.equal(rl.tracked(), 0);
});

t.test('fail: past maxSources the oldest is evicted, its count handed back, memory bounded', async (t) => {
  const rl = new AuditRateLimit(60_000, 3);
  rl.hit('a', 0);
  rl.hit('a', 1);
  rl.hit('b', 2);
  rl.hit('c', 3);
  t.same(rl.hit('d', 4), { write: true, summaries: [{ src: 'a', count: 1, firstAt: 1, lastAt: 1 }] });
  t.same(rl.hit('e', 5), { write: true, summaries: [] }, 'b had nothing held back');
  t.equal(rl.evicted, 2);
  t.equal(rl.tracked(), 3);
  for (let i = 0; i < 10_000; i++) rl.hit(`scan-${i}`, 6 + i);
  t.equal(rl.tracked(), 3, 'a scan of many sources keeps the table at its cap');
  t.throws(() => new AuditRateLimit(1, 0), RangeError);
});
