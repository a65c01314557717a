import t from 'tap';
import { IdempotencyIndex, idempotencyScope, parseIdempotencyKey, requestFingerprint } from '../../agent/idempotency.js';

t.test('ok: keys of letters, digits and . _ : - up to 128 characters', async (t) => {
  t.equal(parseIdempotencyKey(undefined), undefined);
  for (const key of ['a', '0f8fad5b-d9cb-469f-a165-70867728950e', 'run_7.b:host-1', 'x'.repeat(128)]) t.equal(parseIdempotencyKey(key), key);
});

t.test('fail/invalid: empty, too long, other characters, leading punctuation, repeated header', async (t) => {
  for (const key of ['', 'x'.repeat(129), 'a b', 'a/b', 'ключ', '-a', 'a\nb', ['a', 'b']]) {
    t.throws(() => parseIdempotencyKey(key), { code: 'AGENT_IDEMPOTENCY_KEY_INVALID' }, JSON.stringify(key));
  }
});

t.test('the fingerprint ignores key order and undefined fields, and sees every value', async (t) => {
  const a = requestFingerprint({ argv: ['echo', 'x'], env: { A: '1', B: '2' }, description: undefined });
  t.equal(requestFingerprint({ env: { B: '2', A: '1' }, argv: ['echo', 'x'] }), a);
  t.not(requestFingerprint({ argv: ['echo', 'x'], env: { A: '1', B: '3' } }), a);
  t.not(requestFingerprint({ argv: ['x', 'echo'], env: { A: '1', B: '2' } }), a, 'array order matters');
});

t.test('scopes: the same key from two clients names two jobs', async (t) => {
  t.not(idempotencyScope({ thumbprint: 'aa' }, 'k'), idempotencyScope({ thumbprint: 'bb' }, 'k'));
  t.equal(idempotencyScope(null, 'k'), idempotencyScope({ address: '127.0.0.1' }, 'k'), 'without a certificate: one scope');
});

t.test('the index remembers keys for its window, forgets removed jobs and prunes old ones', async (t) => {
  const index = new IdempotencyIndex(1000);
  index.remember('s1', { id: 'j1', fingerprint: 'f', at: 100 }, 100);
  index.remember('s2', { id: 'j2', fingerprint: 'f', at: 600 }, 600);
  index.remember('old', { id: 'j0', fingerprint: 'f', at: 0 }, 1050);
  t.equal(index.lookup('old', 1050), undefined, 'a record already older than the window is not remembered');
  t.match(index.lookup('s1', 1000), { id: 'j1' });
  t.equal(index.lookup('s1', 1101), undefined, 'past the window');
  t.equal(index.size, 1, 'pruned on lookup');
  index.forget('j2');
  t.equal(index.lookup('s2', 1101), undefined, 'a removed job frees its key');
});
