import t from 'tap';
import { EventRing } from '../../agent/server.js';

const change = (id: string) => ({ id, state: 'running', exitCode: null, signal: null, at: 'now' });

t.test('a reconnecting client gets exactly what it missed', async (t) => {
  const ring = new EventRing('abcd', 3);
  const seen: string[] = [];
  ring.listeners.add((text) => seen.push(text));
  ring.push(change('a'));
  ring.push(change('b'));
  t.equal(seen.length, 2);
  t.match(seen[0], /^id: abcd-1\nevent: job\ndata: \{"id":"a"/);
  t.same(ring.since('abcd-1')?.map((e) => e.n), [2]);
  t.same(ring.since('abcd-2'), []);
  ring.push(change('c'));
  ring.push(change('d'));
  ring.push(change('e'));
  t.same(ring.since('abcd-2')?.map((e) => e.n), [3, 4, 5], 'still in the ring');
  t.equal(ring.since('abcd-1'), null, 'fallen out of the ring: resync');
  t.equal(ring.since('ffff-4'), null, 'an id from another run: resync');
  t.equal(ring.since('garbage'), null);
});
