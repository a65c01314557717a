import t from 'tap';
import { ca } from '../fixtures/ca-cli.js';
import { populatedStore, listing } from '../fixtures/ca-store.js';

t.test('concurrent commands on one store neither lose entries nor reuse serials', async (t) => {
  const s = await populatedStore(t);
  const runs = await Promise.all(['a', 'b', 'c', 'd'].map((n) => ca(s.dir, ['issue', 'connector', '--name', `parallel-${n}`, '--key', 'rsa-2048'])));
  t.same(runs.map((r) => r.code), [0, 0, 0, 0], runs.map((r) => r.stderr).join(''));
  const recs = (await listing(s.dir)).certificates as { thumbprint: string; serial: string }[];
  t.equal(recs.length, 3 + 4, 'every issued certificate is in the index');
  for (const r of runs) t.ok(recs.some((c) => c.thumbprint === r.json.thumbprint));
  t.equal(new Set(recs.map((c) => c.serial)).size, recs.length, 'all serials distinct');
});
