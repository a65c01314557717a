import t from 'tap';
import { getEventListeners } from 'node:events';
import { abortableSleep, schedule } from '../../master/scheduler.js';

t.test('never runs more than the concurrency level at once, and keeps result order', async (t) => {
  let running = 0;
  let peak = 0;
  const release: Array<() => void> = [];
  const items = [0, 1, 2, 3, 4, 5, 6];
  const done = schedule(items, { concurrency: 3 }, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise<void>((r) => release.push(r));
    running--;
    return n * 10;
  });
  // Release tasks one at a time, from the outside, so the test does not depend on timing.
  while (release.length > 0 || running > 0) {
    await new Promise((r) => setImmediate(r));
    t.ok(running <= 3, `running ${running} <= 3`);
    release.shift()?.();
  }
  const results = await done;
  t.equal(peak, 3);
  t.same(results.map((r) => (r.status === 'done' ? r.value : null)), [0, 10, 20, 30, 40, 50, 60]);
});

t.test('a failing task does not stop the others', async (t) => {
  const results = await schedule([1, 2, 3], { concurrency: 2 }, async (n) => {
    if (n === 2) throw new Error('boom');
    return n;
  });
  t.same(results.map((r) => r.status), ['done', 'failed', 'done']);
});

t.test('cancelling stops new starts', async (t) => {
  const ac = new AbortController();
  const started: number[] = [];
  const results = await schedule([1, 2, 3, 4], { concurrency: 1, signal: ac.signal }, async (n) => {
    started.push(n);
    if (n === 2) ac.abort();
    return n;
  });
  t.same(started, [1, 2]);
  t.same(results.map((r) => r.status), ['done', 'done', 'skipped', 'skipped']);
  t.match(results[2], { reason: 'cancelled' });
});

t.test('time span: starts are spread, and a task that cannot start inside the window is skipped', async (t) => {
  let clock = 0;
  const sleeps: number[] = [];
  const now = (): number => clock;
  const sleep = async (ms: number): Promise<void> => {
    sleeps.push(ms);
    if (ms > 0) clock += ms;
  };
  const results = await schedule(['a', 'b', 'c', 'd'], { concurrency: 1, timeSpanMs: 400, now, sleep }, async (x) => {
    if (x === 'b') clock += 500; // b runs past the end of the window
    return x;
  });
  t.same(sleeps.slice(0, 2), [0, 100], 'a starts at once, b 100 ms later');
  t.same(results.map((r) => r.status), ['done', 'done', 'skipped', 'skipped']);
  t.match(results[2], { reason: 'time-span' });
});

t.test('time span: the first task is never late, however slow the start', async (t) => {
  let clock = 0;
  const results = await schedule(['a', 'b'], {
    concurrency: 1, timeSpanMs: 10, now: () => clock,
    sleep: async () => { clock += 50; }, // every wake-up arrives long after it was due
  }, async (x) => x);
  t.same(results.map((r) => r.status), ['done', 'skipped']);
});

t.test('time span: cancelling while a task waits for its slot skips it as cancelled', async (t) => {
  const ac = new AbortController();
  let clock = 0;
  const started: string[] = [];
  const results = await schedule(['a', 'b', 'c'], {
    concurrency: 1, timeSpanMs: 300, signal: ac.signal, now: () => clock,
    sleep: async (ms) => {
      clock += Math.max(0, ms);
      if (clock >= 100) ac.abort(); // the operator cancels while b waits for its start
    },
  }, async (x) => {
    started.push(x);
    return x;
  });
  t.same(started, ['a']);
  t.same(results.map((r) => r.status), ['done', 'skipped', 'skipped']);
  t.match(results[1], { reason: 'cancelled' }, 'cancelled, not late: the window had not closed');
});

t.test('abortableSleep: returns at once for nothing to wait or an aborted signal, early on abort, and cleans up', async (t) => {
  // Long sleeps that must not be waited for: the test would hit its timeout if they were.
  const hour = 3_600_000;
  await abortableSleep(0);
  await abortableSleep(-5);
  await abortableSleep(hour, AbortSignal.abort());

  const ac = new AbortController();
  const waiting = abortableSleep(hour, ac.signal);
  t.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort();
  await waiting;
  t.equal(getEventListeners(ac.signal, 'abort').length, 0);

  const quiet = new AbortController();
  await abortableSleep(1, quiet.signal);
  t.equal(getEventListeners(quiet.signal, 'abort').length, 0, 'a sleep that ran its course leaves no listener behind');
  await abortableSleep(1); // and without a signal at all
});
