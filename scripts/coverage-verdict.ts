/**
 * The coverage gate's decision, apart from reading files: given tap's json-summary report and the committed
 * thresholds, which pure modules fall short of 100% and whether the total line coverage fell below the
 * figure the project has reached. scripts/coverage-gate.ts does the reading and printing.
 */
import { relative, sep } from 'node:path';
import { z } from 'zod';

export const METRICS = ['statements', 'branches', 'functions', 'lines'] as const;
export type MetricName = (typeof METRICS)[number];

/** istanbul's json-summary: `pct` is "Unknown" when nothing was counted, so decisions use covered/total. */
const metricSchema = z.object({ total: z.number(), covered: z.number(), pct: z.union([z.number(), z.string()]) });
const fileSchema = z.object({ statements: metricSchema, branches: metricSchema, functions: metricSchema, lines: metricSchema });
export const summarySchema = z.record(z.string(), fileSchema).refine((s) => 'total' in s, 'no "total" entry');
export type CoverageSummary = z.infer<typeof summarySchema>;
export type FileCoverage = z.infer<typeof fileSchema>;

export const thresholdsSchema = z
  .object({
    comment: z.string().optional(),
    /** Paths or globs (`*` within a folder, `**` across folders) relative to the repository root. */
    pure: z.array(z.string().min(1)).min(1),
    /** Minimum total line coverage in percent; only ever raised. */
    totalLines: z.number().min(0).max(100),
  })
  .strict();
export type Thresholds = z.infer<typeof thresholdsSchema>;

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` is zero or more whole folders; a trailing `**` is anything below.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[\\^$.|+(){}[\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export const percent = (m: { total: number; covered: number }): number => (m.total === 0 ? 100 : (100 * m.covered) / m.total);

export interface PureResult {
  pattern: string;
  files: string[];
}

export interface Verdict {
  ok: boolean;
  failures: string[];
  /** Pure patterns and the report files each matched, for the printed summary. */
  pure: PureResult[];
  totalLines: number;
  /** Set when the total is a whole point or more above the threshold: the figure to ratchet it up to. */
  raiseTo: number | undefined;
}

/** `root` is the repository root; the report names files by absolute path. */
export function judgeCoverage(summary: CoverageSummary, thresholds: Thresholds, root: string): Verdict {
  const failures: string[] = [];
  const files = Object.keys(summary)
    .filter((k) => k !== 'total')
    .map((abs) => ({ abs, rel: relative(root, abs).split(sep).join('/') }));

  const pure = thresholds.pure.map((pattern): PureResult => {
    const re = globToRegExp(pattern);
    const matched = files.filter((f) => re.test(f.rel));
    // A pure module that vanished from the report (renamed, moved, no longer loaded by any test) would
    // otherwise pass the gate by not being measured at all.
    if (matched.length === 0) failures.push(`${pattern}: not in the coverage report (renamed, moved, or no test loads it?)`);
    for (const f of matched) {
      const cov = summary[f.abs]!;
      const short = METRICS.filter((m) => cov[m].covered < cov[m].total);
      if (short.length > 0) {
        const detail = short.map((m) => `${m} ${cov[m].covered}/${cov[m].total}`).join(', ');
        failures.push(`${f.rel}: pure module below 100% (${detail})`);
      }
    }
    return { pattern, files: matched.map((f) => f.rel) };
  });

  const total = summary.total!;
  const totalLines = percent(total.lines);
  if (total.lines.total === 0) failures.push('the report counted no lines at all');
  else if (totalLines < thresholds.totalLines) {
    failures.push(`total line coverage ${totalLines.toFixed(2)}% is below the threshold ${thresholds.totalLines}%`);
  }
  const whole = Math.floor(totalLines);
  const raiseTo = total.lines.total > 0 && whole >= thresholds.totalLines + 1 ? whole : undefined;
  return { ok: failures.length === 0, failures, pure, totalLines, raiseTo };
}

/** What the test command prints: the totals, the pure modules, then the verdict. */
export function renderVerdict(summary: CoverageSummary, thresholds: Thresholds, verdict: Verdict, thresholdsFile: string): string {
  const total = summary.total!;
  const out = ['Coverage (all files the tests loaded):'];
  for (const m of METRICS) {
    out.push(`  ${m.padEnd(10)} ${percent(total[m]).toFixed(2).padStart(6)}%  (${total[m].covered}/${total[m].total})`);
  }
  const pureFiles = verdict.pure.reduce((n, p) => n + p.files.length, 0);
  out.push(`Pure modules gated at 100%: ${pureFiles} files from ${verdict.pure.length} patterns in ${thresholdsFile}`);
  if (verdict.ok) {
    out.push(`coverage gate: ok (total lines ${verdict.totalLines.toFixed(2)}%, threshold ${thresholds.totalLines}%)`);
  } else {
    out.push('coverage gate: FAILED');
    for (const f of verdict.failures) out.push(`  ${f}`);
  }
  if (verdict.raiseTo !== undefined) {
    out.push(`note: total line coverage is ${verdict.totalLines.toFixed(2)}%; raise totalLines in ${thresholdsFile} to ${verdict.raiseTo} so it cannot slip back`);
  }
  return out.join('\n');
}
