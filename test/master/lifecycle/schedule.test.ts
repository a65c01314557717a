import t from 'tap';
import { certificateDue, crlDue, verdictOf } from '../../../master/lifecycle/schedule.js';
import { backdateFor, lifetimeOfSpan, parseLifetime } from '../../../ca/lifetime.js';

const at = (s: number) => new Date(s * 1000).toISOString();

t.test('certificates are due at two thirds of their lifetime, CRLs at half', async (t) => {
  t.notOk(certificateDue(at(0), at(90), 59_000));
  t.ok(certificateDue(at(0), at(90), 60_000));
  t.notOk(crlDue(at(0), at(100), 49_000));
  t.ok(crlDue(at(0), at(100), 50_000));
  t.ok(crlDue(at(0), null, 0), 'a CRL without nextUpdate is always re-signed');
});

t.test('fleet verdicts', async (t) => {
  const facts = (crlNumber: number, nextUpdate: number) => ({ certificate: { notBefore: at(0), notAfter: at(90) }, crl: { crlNumber, nextUpdate: at(nextUpdate) } });
  t.equal(verdictOf(undefined, 3), 'unreachable');
  t.equal(verdictOf(facts(3, 100), 3, 10_000), 'ok');
  t.equal(verdictOf(facts(3, 100), 3, 70_000), 'renew soon');
  t.equal(verdictOf(facts(2, 100), 3, 10_000), 'CRL stale', 'older than the store\'s');
  t.equal(verdictOf(facts(3, 5), 3, 10_000), 'CRL stale', 'past nextUpdate');
});

t.test('lifetimes: parse, backdate, and read back from a span', async (t) => {
  t.equal(parseLifetime('90s'), 90_000);
  t.equal(parseLifetime('1h'), 3_600_000);
  t.equal(parseLifetime('7d'), 7 * 86_400_000);
  t.throws(() => parseLifetime('5s'), /at least 10s/);
  t.throws(() => parseLifetime('1w'), /number and a unit/);
  t.equal(backdateFor(20_000), 5_000, 'a quarter of a short lifetime');
  t.equal(backdateFor(86_400_000), 300_000, 'five minutes for long ones');
  for (const l of [20_000, 45_000, 3_600_000, 7 * 86_400_000]) t.equal(lifetimeOfSpan(l + backdateFor(l)), l, `round trip ${l}`);
});
