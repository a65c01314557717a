/**
 * Fails the test command when coverage slipped: reads tap's json-summary report of the Node 24 pass and
 * coverage-thresholds.json, prints the totals and the verdict (scripts/coverage-verdict.ts decides).
 *   tsx scripts/coverage-gate.ts [--summary .tap/report/coverage-summary.json] [--thresholds coverage-thresholds.json]
 * Exit status: 0 passed, 1 coverage fell short, 2 a file is missing or malformed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { judgeCoverage, renderVerdict, summarySchema, thresholdsSchema } from './coverage-verdict.js';

const { values } = parseArgs({
  options: {
    summary: { type: 'string', default: '.tap/report/coverage-summary.json' },
    thresholds: { type: 'string', default: 'coverage-thresholds.json' },
  },
});
const summaryFile = values.summary;
const thresholdsFile = values.thresholds;

function readJson<S extends z.ZodType>(file: string, schema: S, what: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`coverage gate: cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code}`);
    process.exit(2);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    console.error(`coverage gate: ${file} is not JSON: ${(err as Error).message}`);
    process.exit(2);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    console.error(`coverage gate: ${file} is not a ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    process.exit(2);
  }
  return parsed.data;
}

const summary = readJson(summaryFile, summarySchema, 'json-summary coverage report');
const thresholds = readJson(thresholdsFile, thresholdsSchema, 'coverage thresholds file');
const verdict = judgeCoverage(summary, thresholds, process.cwd());
console.log(renderVerdict(summary, thresholds, verdict, thresholdsFile));
process.exit(verdict.ok ? 0 : 1);
