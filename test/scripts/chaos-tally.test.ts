import t from 'tap';
import { longestOutage, tallyChaos } from '../../scripts/chaos/tally.js';

const ran = (...tokens: string[]) => {
  const m = new Map<string, number>();
  for (const k of tokens) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};

t.test('a clean run: every accepted job ran once and is reported as the agent ended it', async (t) => {
  const r = tallyChaos(
    [{ token: 'a', jobId: '1', state: 'succeeded' }, { token: 'b', jobId: null, state: 'unreachable' }],
    [{ id: '1', state: 'succeeded', token: 'a' }],
    ran('a'),
  );
  t.match(r, { submitted: 2, accepted: 1, completed: 1, lost: 0, duplicated: 0, wrongState: 0 });
});

t.test('lost: unknown to the agent, ended lost, or succeeded without running', async (t) => {
  const r = tallyChaos(
    [{ token: 'a', jobId: '1', state: 'succeeded' }, { token: 'b', jobId: '2', state: 'lost' }, { token: 'c', jobId: '3', state: 'succeeded' }],
    [{ id: '2', state: 'lost', token: 'b' }, { id: '3', state: 'succeeded', token: 'c' }],
    ran(),
  );
  t.same(r.details.lost.sort(), ['a', 'b', 'c']);
});

t.test('duplicated: two agent jobs for one token, or one job that ran twice', async (t) => {
  const r = tallyChaos(
    [{ token: 'a', jobId: '1', state: 'succeeded' }, { token: 'b', jobId: '3', state: 'succeeded' }],
    [{ id: '1', state: 'succeeded', token: 'a' }, { id: '2', state: 'succeeded', token: 'a' }, { id: '3', state: 'succeeded', token: 'b' }],
    ran('a', 'b', 'b'),
  );
  t.same(r.details.duplicated.sort(), ['a', 'b']);
});

t.test('wrong state: the master says failed or not submitted for a job the agent ran', async (t) => {
  const r = tallyChaos(
    [{ token: 'a', jobId: '1', state: 'failed' }, { token: 'b', jobId: null, state: 'unreachable' }],
    [{ id: '1', state: 'succeeded', token: 'a' }, { id: '2', state: 'succeeded', token: 'b' }],
    ran('a', 'b'),
  );
  t.same(r.details.wrongState.sort(), ['a', 'b']);
  t.equal(r.lost, 0);
});

t.test('longest outage: from the last good probe to the next good one', async (t) => {
  t.equal(longestOutage([[0, true], [100, false], [200, false], [350, true], [450, true], [500, false], [520, true]]), 350);
  t.equal(longestOutage([[0, true], [100, true]]), 0);
  t.equal(longestOutage([[0, false], [100, true]]), 0, 'an outage with no good probe before it has no start');
});

t.test('a job that failed to start (never ran) is not lost when every account says failed', async (t) => {
  const r = tallyChaos([{ token: 'a', jobId: '1', state: 'failed' }], [{ id: '1', state: 'failed', token: 'a' }], ran());
  t.match(r, { lost: 0, wrongState: 0, failedToStart: 1 });
});
