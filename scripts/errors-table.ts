/**
 * Renders ERRORS.md from the error tables, so the document cannot drift from the code. It loads every
 * part's table for the registry to be complete; it lives here, not in core/, because core/ imports no part.
 */
import '../ca/errors.js';
import '../agent/errors.js';
import '../gateway/errors.js';
import '../master/errors.js';
import { registeredErrors } from '../core/errors.js';

export { registeredErrors };

const PART_TITLES: Record<string, string> = {
  core: 'Shared (configuration, secrets, locks)',
  ca: 'Certificate authority (`outpost ca`)',
  agent: 'Agent (`outpost agent`)',
  gateway: 'Gateway (`outpost gateway`)',
  master: 'Master client (`outpost job`)',
};

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderErrorsDoc(): string {
  const byPart = new Map<string, string[]>();
  for (const [code, { part, spec }] of [...registeredErrors()].sort(([a], [b]) => a.localeCompare(b))) {
    const rows = byPart.get(part) ?? [];
    rows.push(`| \`${code}\` | ${spec.status} | ${cell(spec.meaning)} | ${cell(spec.action)} |`);
    byPart.set(part, rows);
  }
  const out = [
    '# Error codes',
    '',
    'Every error Outpost reports carries one of these stable codes: in HTTP answers as',
    '`{"error":{"code","message"}}`, on the CLI as `error CODE: message` followed by the advice below.',
    'This file is generated from the code (`npm run errors:doc`); a test fails when they disagree.',
  ];
  for (const part of Object.keys(PART_TITLES)) {
    const rows = byPart.get(part);
    if (!rows) continue;
    out.push('', `## ${PART_TITLES[part]}`, '', '| code | status | meaning | what to do |', '|---|---|---|---|', ...rows);
  }
  return `${out.join('\n')}\n`;
}
