import t from 'tap';
import {
  globToRegExp, judgeCoverage, renderVerdict, summarySchema, thresholdsSchema, type CoverageSummary, type FileCoverage,
} from '../../scripts/coverage-verdict.js';

const ROOT = '/repo';

/** A file's coverage with the same covered/total for every metric, overridden per metric. */
function file(covered: number, total: number, over: Partial<FileCoverage> = {}): FileCoverage {
  const m = { total, covered, pct: total === 0 ? 'Unknown' : (100 * covered) / total };
  return { statements: m, branches: m, functions: m, lines: m, ...over };
}

function summary(files: Record<string, FileCoverage>, total = file(900, 1000)): CoverageSummary {
  const out: CoverageSummary = { total };
  for (const [rel, cov] of Object.entries(files)) out[`${ROOT}/${rel}`] = cov;
  return out;
}

const thresholds = (over: Partial<{ pure: string[]; totalLines: number }> = {}) =>
  thresholdsSchema.parse({ pure: ['gateway/checks/*.ts', 'ca/der.ts'], totalLines: 85, ...over });

t.test('globs: * stays inside a folder, ** crosses folders, ? is one character, the rest is literal', async (t) => {
  const g = (glob: string, path: string) => globToRegExp(glob).test(path);
  t.ok(g('gateway/checks/*.ts', 'gateway/checks/cidr.ts'));
  t.notOk(g('gateway/checks/*.ts', 'gateway/checks/deep/cidr.ts'));
  t.notOk(g('gateway/checks/*.ts', 'gateway/checks/cidr.tsx'), 'anchored at the end');
  t.notOk(g('ca/der.ts', 'xca/der.ts'), 'anchored at the start');
  t.notOk(g('ca/der.ts', 'ca/derxts'), 'a dot is a dot');
  t.ok(g('core/**/*.ts', 'core/config.ts'), '**/ may be no folder at all');
  t.ok(g('core/**/*.ts', 'core/a/b/config.ts'));
  t.ok(g('core/**', 'core/a/b.ts'));
  t.ok(g('ca/de?.ts', 'ca/der.ts'));
  t.notOk(g('ca/de?.ts', 'ca/de/.ts'));
});

t.test('pass: every pure module at 100% and the total at the threshold', async (t) => {
  const s = summary({ 'gateway/checks/cidr.ts': file(50, 50), 'gateway/checks/check.ts': file(0, 0), 'ca/der.ts': file(20, 20), 'agent/x.ts': file(1, 10) }, file(850, 1000));
  const v = judgeCoverage(s, thresholds(), ROOT);
  t.same(v.failures, []);
  t.ok(v.ok);
  t.same(v.pure, [
    { pattern: 'gateway/checks/*.ts', files: ['gateway/checks/cidr.ts', 'gateway/checks/check.ts'] },
    { pattern: 'ca/der.ts', files: ['ca/der.ts'] },
  ], 'a module with nothing to count (types only) passes');
  t.equal(v.totalLines, 85);
  t.equal(v.raiseTo, undefined, 'nothing to ratchet below a whole point above');
});

t.test('fail: one metric of one pure module short of 100%, named with its numbers', async (t) => {
  const cidr = file(50, 50, { branches: { total: 40, covered: 39, pct: 97.5 } });
  const v = judgeCoverage(summary({ 'gateway/checks/cidr.ts': cidr, 'ca/der.ts': file(20, 20) }), thresholds(), ROOT);
  t.notOk(v.ok);
  t.same(v.failures, ['gateway/checks/cidr.ts: pure module below 100% (branches 39/40)']);
});

t.test('fail: a pure pattern that matches nothing in the report', async (t) => {
  const v = judgeCoverage(summary({ 'gateway/checks/cidr.ts': file(5, 5), 'ca/der2.ts': file(5, 5) }), thresholds(), ROOT);
  t.notOk(v.ok);
  t.same(v.failures, ['ca/der.ts: not in the coverage report (renamed, moved, or no test loads it?)']);
});

t.test('fail: files outside the root never match a pure pattern', async (t) => {
  const s: CoverageSummary = { total: file(9, 10), '/elsewhere/ca/der.ts': file(5, 5), [`${ROOT}/gateway/checks/cidr.ts`]: file(5, 5) };
  t.match(judgeCoverage(s, thresholds({ totalLines: 0 }), ROOT).failures, [/^ca\/der\.ts: not in the coverage report/]);
});

t.test('total lines: below the threshold fails, a whole point above suggests the ratchet', async (t) => {
  const pureOk = { 'gateway/checks/cidr.ts': file(5, 5), 'ca/der.ts': file(5, 5) };
  const low = judgeCoverage(summary(pureOk, file(8499, 10000)), thresholds(), ROOT);
  t.notOk(low.ok);
  t.same(low.failures, ['total line coverage 84.99% is below the threshold 85%']);
  t.equal(low.raiseTo, undefined);

  const high = judgeCoverage(summary(pureOk, file(8712, 10000)), thresholds(), ROOT);
  t.ok(high.ok);
  t.equal(high.raiseTo, 87, 'whole points only, rounded down');
  t.equal(judgeCoverage(summary(pureOk, file(8600, 10000)), thresholds(), ROOT).raiseTo, 86, 'exactly one point above');

  const unset = judgeCoverage(summary(pureOk, file(500, 1000)), thresholds({ totalLines: 0 }), ROOT);
  t.ok(unset.ok, 'threshold 0: not set yet');
  t.equal(unset.raiseTo, 50);

  const empty = judgeCoverage(summary(pureOk, file(0, 0)), thresholds({ totalLines: 0 }), ROOT);
  t.same(empty.failures, ['the report counted no lines at all'], 'an empty report is never a pass');
  t.equal(empty.raiseTo, undefined);
});

t.test('thresholds file: pure list required, totalLines a percentage, no stray keys', async (t) => {
  t.ok(thresholdsSchema.safeParse({ comment: 'why', pure: ['a.ts'], totalLines: 0 }).success);
  t.notOk(thresholdsSchema.safeParse({ pure: [], totalLines: 0 }).success, 'an empty pure list gates nothing');
  t.notOk(thresholdsSchema.safeParse({ pure: ['a.ts'], totalLines: 101 }).success);
  t.notOk(thresholdsSchema.safeParse({ pure: ['a.ts'] }).success);
  t.notOk(thresholdsSchema.safeParse({ pure: ['a.ts'], totalLines: 80, totalLine: 90 }).success, 'a misspelt key is not ignored');
});

t.test('summary file: needs the total, and every entry needs the four metrics', async (t) => {
  t.ok(summarySchema.safeParse(summary({ 'a.ts': file(1, 1) })).success);
  t.notOk(summarySchema.safeParse({ [`${ROOT}/a.ts`]: file(1, 1) }).success, 'no total');
  const { branches: _, ...noBranches } = file(1, 1);
  t.notOk(summarySchema.safeParse({ total: file(1, 1), [`${ROOT}/a.ts`]: noBranches }).success);
});

t.test('the printed summary: totals, pure module count, verdict and the ratchet hint', async (t) => {
  const s = summary({ 'gateway/checks/cidr.ts': file(5, 5), 'ca/der.ts': file(3, 4) }, file(880, 1000));
  const th = thresholds();
  const text = renderVerdict(s, th, judgeCoverage(s, th, ROOT), 'coverage-thresholds.json');
  t.ok(text.startsWith('Coverage (all files the tests loaded):\n  statements  88.00%  (880/1000)\n'), text);
  t.ok(text.includes('\n  lines       88.00%  (880/1000)\n'), 'percentages line up under each other');
  t.match(text, /Pure modules gated at 100%: 2 files from 2 patterns in coverage-thresholds\.json/);
  t.match(text, /coverage gate: FAILED\n {2}ca\/der\.ts: pure module below 100% \(statements 3\/4, branches 3\/4, functions 3\/4, lines 3\/4\)/);
  t.match(text, /note: total line coverage is 88\.00%; raise totalLines in coverage-thresholds\.json to 88/);
  const ok = summary({ 'gateway/checks/cidr.ts': file(5, 5), 'ca/der.ts': file(4, 4) }, file(850, 1000));
  t.match(renderVerdict(ok, th, judgeCoverage(ok, th, ROOT), 'x.json'), /coverage gate: ok \(total lines 85\.00%, threshold 85%\)$/);
});
