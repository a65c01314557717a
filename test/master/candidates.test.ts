import t from 'tap';
import { chooseCandidate, loadOf, loadRatio } from '../../master/candidates.js';
import { masterError } from '../../master/errors.js';

const statuses: Record<string, unknown> = {
  'https://busy:1': { running: 8, queued: 4, capacity: 8 },
  // The agent's own shape: jobs and capacity as objects.
  'https://idle:1': { jobs: { running: 1, queued: 0, total: 9 }, capacity: { maxConcurrentJobs: 16, queueLimit: 1000 } },
  'https://half:1': { running: 4, queued: 0, maxConcurrentJobs: 8, processServers: [{ name: 'db01', reachable: false }] },
};
const probed: string[] = [];
const probe = async (url: string): Promise<unknown> => {
  probed.push(url);
  const s = statuses[url];
  if (s === undefined) throw masterError('MASTER_AGENT_UNREACHABLE', `connect ECONNREFUSED ${url}`);
  return s;
};

t.beforeEach(() => { probed.length = 0; });

t.test('first reachable skips a down candidate and stops probing', async (t) => {
  const c = await chooseCandidate(['https://down:1', 'https://busy:1', 'https://idle:1'], probe, 'first');
  t.equal(c.url, 'https://busy:1');
  t.same(probed, ['https://down:1', 'https://busy:1']);
  t.match(c.explanation[0], /down:1: not usable \(MASTER_AGENT_UNREACHABLE/);
  t.match(c.explanation[1], /busy:1: reachable .* chosen, first reachable/);
});

t.test('least loaded compares (running + queued) / capacity', async (t) => {
  const c = await chooseCandidate(['https://busy:1', 'https://down:1', 'https://half:1', 'https://idle:1'], probe, 'least-loaded');
  t.equal(c.url, 'https://idle:1');
  t.match(c.explanation.at(-1), /chosen https:\/\/idle:1, least loaded \(0\.06\)/);
  t.equal(loadRatio(loadOf(statuses['https://busy:1'])), 1.5);
});

t.test('a candidate whose process server is down is passed over', async (t) => {
  const c = await chooseCandidate(['https://half:1', 'https://idle:1'], probe, 'first', 'db01');
  t.equal(c.url, 'https://idle:1', 'idle does not list process servers, so it is not ruled out');
  t.match(c.explanation[0], /reports process server "db01" unreachable/);
});

t.test('no usable candidate is an error that explains every rejection', async (t) => {
  await t.rejects(chooseCandidate(['https://down:1', 'https://gone:1'], probe, 'first'), {
    code: 'MASTER_NO_CANDIDATE', message: /down:1.*gone:1/,
  });
  const single = await chooseCandidate(['https://down:1'], probe, 'first');
  t.equal(single.url, 'https://down:1', 'a single candidate is used without probing');
  t.same(probed, ['https://down:1', 'https://gone:1']);
});
