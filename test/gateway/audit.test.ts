import t from 'tap';
import { auditLine, isoNow, type AuditEntry } from '../../gateway/audit.js';

const base: AuditEntry = {
  time: '2026-11-23T13:03:34.552Z', kind: 'request', src: '127.0.0.2', subject: 'CN=master', thumbprint: 'B0AFCD5',
  method: 'POST', path: '/v1/jobs', status: 201, bytes: 48, durationMs: 3.125, decision: 'allow', rule: 'master', reason: null,
};

t.test('an audit line is exactly JSON.stringify of the entry', async (t) => {
  const tricky = ['"quoted"', 'back\\slash', 'ctl\x01\x1f\x7f', 'tab\tnew\nline\r', 'caf\u00e9 \u2028 \u{1f600}', '\ud800 lone surrogate', '', '/v1/jobs?x=%22&y=</script>', 'CN=a\\x00b'];
  const entries: AuditEntry[] = [
    base,
    { ...base, kind: 'connection', subject: null, thumbprint: null, method: null, path: null, status: null, bytes: 0, durationMs: 0, decision: 'deny', rule: null, reason: 'CERT_REVOKED' },
    ...tricky.flatMap((s) => [{ ...base, path: s }, { ...base, subject: s, rule: s, reason: s, src: s }]),
    { ...base, durationMs: 0.001 },
    { ...base, durationMs: 123456.789, bytes: 2 ** 40 },
  ];
  entries.forEach((e, i) => t.equal(auditLine(e), `${JSON.stringify(e)}\n`, `entry ${i}`));
});

t.test('isoNow matches Date#toISOString', async (t) => {
  const start = Date.parse('2026-11-23T23:59:58.990Z');
  for (const ms of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1010, 1999, 2000, 2009, 2500, 86_400_000 + 7]) {
    const now = start + ms;
    t.equal(isoNow(now), new Date(now).toISOString(), String(now));
  }
  t.match(isoNow(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

t.test('the optional fields (detail, count, firstAt, lastAt) follow reason, as JSON.stringify puts them', async (t) => {
  const refused: AuditEntry = { ...base, kind: 'connection', decision: 'deny', reason: 'ERR_SSL_NO_SHARED_CIPHER', detail: 'no shared cipher' };
  const summary: AuditEntry = { ...base, kind: 'connection', decision: 'deny', reason: 'IP_NOT_ALLOWED', count: 41, firstAt: base.time, lastAt: '2026-11-23T13:04:30.001Z' };
  for (const e of [refused, summary, { ...refused, detail: 'tab\there "q" \\x00' }]) t.equal(auditLine(e), `${JSON.stringify(e)}\n`);
  t.notMatch(auditLine(base), /detail|count/, 'a plain line has the thirteen fields only');
});
