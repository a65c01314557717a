import t from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { buildPkcs12, parsePkcs12, Pkcs12Error } from '../../ca/pkcs12.js';
import { KdfBudget, DEFAULT_MAX_ITERATIONS, MAX_EXPORT_ITERATIONS, KDF_RUNS_PER_EXPORT, type KdfRun } from '../../ca/kdf-budget.js';
import * as der from '../../ca/der.js';
import { createTestPki } from '../fixtures/pki.js';
import { tempDir } from '../fixtures/cli.js';
import { hostilePkcs12 } from '../fixtures/hostile-pkcs12.js';

const FAST = 2048;

/** A copy of `file` with one bit of its MAC digest flipped. */
function flipMacDigest(file: Buffer): Buffer {
  const macData = der.children(der.decode(file))[2];
  const digest = der.bytesOf(der.children(der.children(macData)[0])[1]);
  const out = Buffer.from(file);
  const at = out.lastIndexOf(digest);
  out[at] = (out[at] ?? 0) ^ 0x01;
  return out;
}

function refusal(fn: () => unknown): Pkcs12Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Pkcs12Error) return err;
    throw err;
  }
  throw new Error('accepted');
}

t.test('a file declaring more work than the limit is refused before any key is derived', async (t) => {
  // 50 encrypted parts × 10 M PBKDF2 iterations + a 10 M-iteration MAC, in a few kilobytes.
  const file = hostilePkcs12({ parts: 50, iterations: 10_000_000, macIterations: 10_000_000 });
  t.ok(file.length < 12_000, `small file (${file.length} bytes)`);
  const runs: KdfRun[] = [];
  const err = refusal(() => parsePkcs12(file, 'any password', { onKeyDerivation: (r) => runs.push(r) }));
  t.equal(err.reason, 'too-costly');
  t.match(err.message, /510,000,000 key-derivation iterations \(MAC 10,000,000 \+ 50 encrypted parts 500,000,000\), more than the limit of 3,000,000/);
  t.same(runs, [], 'no key derivation ran: not even the MAC');

  // One part over the limit is enough; so is a sum of individually modest counts.
  t.equal(refusal(() => parsePkcs12(hostilePkcs12({ parts: 1, iterations: DEFAULT_MAX_ITERATIONS, macIterations: 1 }), 'x')).reason, 'too-costly');
  t.equal(refusal(() => parsePkcs12(hostilePkcs12({ parts: 2000, iterations: 2048, macIterations: 2048 }), 'x')).reason, 'too-costly', '2,000 parts of 2,048');
  t.equal(refusal(() => parsePkcs12(hostilePkcs12({ parts: 2, iterations: 2 ** 70, macIterations: 1 }), 'x')).reason, 'too-costly', 'a count beyond 2^53');

  // Under a limit the caller raised, the same kind of file gets as far as its (random) MAC, and stops there.
  const small = hostilePkcs12({ parts: 3, iterations: 1000, macIterations: 1000 });
  t.equal(refusal(() => parsePkcs12(small, 'x', { maxIterations: 3999, onKeyDerivation: (r) => runs.push(r) })).reason, 'too-costly');
  t.equal(refusal(() => parsePkcs12(small, 'x', { maxIterations: 4000, onKeyDerivation: (r) => runs.push(r) })).reason, 'bad-password');
  t.same(runs, [{ purpose: 'mac', iterations: 1000 }], 'only the MAC was derived');
});

t.test('the MAC is checked before anything is decrypted, and each part is decrypted once', async (t) => {
  const pki = await createTestPki(await tempDir(t));
  const c = await pki.issueConnector({ name: 'master' });
  const certs = [new X509Certificate(c.certPem), new X509Certificate(pki.caCertPem)];
  for (const legacy of [false, true]) {
    const file = buildPkcs12({ key: createPrivateKey(c.keyPem), certs, password: 'right-password', legacy, iterations: FAST });
    const runs: KdfRun[] = [];
    const onKeyDerivation = (r: KdfRun): number => runs.push(r);

    t.equal(refusal(() => parsePkcs12(file, 'wrong-password', { onKeyDerivation })).reason, 'bad-password');
    t.same(runs.map((r) => r.purpose), ['mac'], `wrong password: the MAC alone (legacy=${legacy})`);

    runs.length = 0;
    const macFlipped = flipMacDigest(file);
    const err = refusal(() => parsePkcs12(macFlipped, 'right-password', { onKeyDerivation }));
    t.equal(err.reason, 'bad-password');
    t.match(err.message, /not the export password, or the file was altered/);
    t.same(runs.map((r) => r.purpose), ['mac'], `altered MAC: no part decrypted (legacy=${legacy})`);

    runs.length = 0;
    const back = parsePkcs12(file, 'right-password', { onKeyDerivation });
    t.equal(back.keys.length, 1);
    t.same(runs, [{ purpose: 'mac', iterations: FAST }, { purpose: 'part', iterations: FAST }, { purpose: 'key', iterations: FAST }], 'right password: MAC, certificate part, key — once each');
  }
});

t.test('the budget charges what a decrypted part reveals, and refuses past the limit', async (t) => {
  const runs: KdfRun[] = [];
  const b = new KdfBudget(10, (r) => runs.push(r));
  b.plan(10, 'x');
  t.throws(() => b.plan(11, 'MAC 1 + 1 encrypted part 10'), { needed: 11, limit: 10, message: /11 key-derivation iterations \(MAC 1 \+ 1 encrypted part 10\)/ });
  b.charge('mac', 4);
  b.charge('part', 6);
  t.throws(() => b.charge('key', 1), { needed: 11, message: /with a key bag found inside an encrypted part/ });
  t.equal(b.spent, 10);
  t.same(runs.map((r) => r.iterations), [4, 6], 'a refused derivation is not reported as run');
  t.throws(() => new KdfBudget(10).plan(Number.NaN, 'x'), 'NaN is over every limit');
});

t.test('what `ca export` writes at its highest --iterations, the default limit reads', async (t) => {
  t.equal(MAX_EXPORT_ITERATIONS * KDF_RUNS_PER_EXPORT <= DEFAULT_MAX_ITERATIONS, true);
  const pki = await createTestPki(await tempDir(t));
  const c = await pki.issueConnector({ name: 'master' });
  // Built with a tiny count, then checked against the limit by the count the export would write.
  const runs: KdfRun[] = [];
  const file = buildPkcs12({ key: createPrivateKey(c.keyPem), certs: [new X509Certificate(c.certPem)], password: 'right-password', iterations: FAST });
  parsePkcs12(file, 'right-password', { onKeyDerivation: (r) => runs.push(r) });
  t.equal(runs.length, KDF_RUNS_PER_EXPORT, 'an export derives keys exactly KDF_RUNS_PER_EXPORT times');
  const full = hostilePkcs12({ parts: KDF_RUNS_PER_EXPORT - 1, iterations: MAX_EXPORT_ITERATIONS, macIterations: MAX_EXPORT_ITERATIONS });
  t.equal(refusal(() => parsePkcs12(full, 'x')).reason, 'bad-password', 'passes the limit (and then fails its random MAC)');
});
