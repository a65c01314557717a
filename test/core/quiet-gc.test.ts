import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQuietCollector } from '../../core/quiet-gc.js';

// The decisions use an injected clock, so a loaded machine cannot make them flaky: real timers only have
// to fire (30 ms) before the test's longer sleeps (150 ms) end, which timer ordering guarantees.
t.test('collects once, after the quiet period, only when enough happened', async (t) => {
  let clock = 0;
  let runs = 0;
  const c = createQuietCollector({ quietMs: 30, minEvents: 3, collect: () => runs++, now: () => clock });
  t.teardown(() => c.close());
  c.activity();
  c.activity();
  clock = 1000;
  await sleep(150);
  t.equal(runs, 0, 'two events are not worth a collection');
  c.activity();
  clock = 1010;
  await sleep(150);
  t.equal(runs, 0, 'not quiet long enough yet (by the clock)');
  clock = 2000;
  await sleep(150);
  t.equal(runs, 1, 'quiet, and three events since the last collection');
  await sleep(150);
  t.equal(runs, 1, 'nothing new: no second collection');
  t.equal(c.collections, 1);
});

t.test('the default collection is V8\'s own and does not throw', async (t) => {
  const c = createQuietCollector({ quietMs: 1, minEvents: 1 });
  t.teardown(() => c.close());
  c.activity();
  await sleep(150);
  t.equal(c.collections, 1);
});
