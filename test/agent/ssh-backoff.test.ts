import t from 'tap';
import { REDIAL_BACKOFF, backoffDelay } from '../../agent/executors/ssh/backoff.js';

t.test('ok: waits grow exponentially up to the cap, with jitter in the upper half', async (t) => {
  const policy = { baseMs: 100, capMs: 1000, attempts: 6 };
  t.same([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, 0)), [50, 100, 200, 400, 500, 500]);
  t.same([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, 0.999999)), [100, 200, 400, 800, 1000, 1000]);
});

t.test('fail: the policy gives up after its attempts', async (t) => {
  t.equal(backoffDelay(REDIAL_BACKOFF, REDIAL_BACKOFF.attempts, 0.5), null);
  t.ok((backoffDelay(REDIAL_BACKOFF, REDIAL_BACKOFF.attempts - 1, 0.5) ?? 0) > 0);
});
