// `npm run lint`, second half: the executors' embedded programs are checked like code. Every Perl file
// compiles (perl -c) and says `use strict; use warnings`; every sh file passes shellcheck. shellcheck is a
// Debian package (scripts/test installs it when run as root); without it the sh files are skipped with a
// notice, and OUTPOST_FAIL_SKIP=1 (CI) makes that an error.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import console from 'node:console';
import process from 'node:process';
import { programFiles } from './copy-programs.mjs';

let failed = 0;
const fail = (file, why) => {
  failed++;
  console.error(`${file}: ${why}`);
};
const files = programFiles('.');
for (const file of files.filter((f) => f.endsWith('.pl'))) {
  const text = readFileSync(file, 'utf8');
  for (const pragma of ['use strict;', 'use warnings;']) if (!text.includes(`\n${pragma}\n`)) fail(file, `does not say ${pragma}`);
  const r = spawnSync('perl', ['-c', file], { encoding: 'utf8' });
  // Anything but "syntax OK" (a compile-time warning too) is a finding.
  if (r.status !== 0 || r.stderr.trim() !== `${file} syntax OK`) fail(file, r.stderr.trim() || `perl -c exited ${r.status}`);
}
const sh = files.filter((f) => f.endsWith('.sh'));
let shellcheck = true;
try {
  execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
} catch {
  shellcheck = false;
}
if (!shellcheck) {
  const msg = `shellcheck is not installed (apt-get install shellcheck): ${sh.length} sh files not checked`;
  if (process.env.OUTPOST_FAIL_SKIP) fail('lint', msg);
  else console.error(`note: ${msg}`);
} else {
  const r = spawnSync('shellcheck', ['--format=gcc', ...sh], { encoding: 'utf8' });
  if (r.status !== 0) fail('shellcheck', `\n${r.stdout}${r.stderr}`);
}
if (failed) process.exit(1);
console.log(`programs: ${files.length} checked (${files.length - sh.length} Perl, ${sh.length} sh)`);
