/**
 * The programs the executors run on their own side of a fork or an SSH channel — Perl (.pl) and POSIX sh
 * (.sh) — are files of their own, checked by `npm run lint` (perl -c, shellcheck). `npm run build` copies
 * them next to the compiled modules (scripts/copy-programs.mjs); a dist/ built by a bare `tsc` lacks the
 * copies, and then they are read from the source tree it was built from. Read once, at module load.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The text of `name`, a file beside the module at `moduleUrl` (its import.meta.url). */
export function programFile(name: string, moduleUrl: string): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const candidates = [join(here, name)];
  const dist = here.lastIndexOf('/dist/');
  if (dist >= 0) candidates.push(join(here.slice(0, dist), here.slice(dist + '/dist'.length), name));
  for (const file of candidates) {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      /* the next place */
    }
  }
  throw new Error(`${name} not found (${candidates.join(', ')}): build with npm run build`);
}

/**
 * A sh program as sent to a target: without its comment lines and blank lines, which would otherwise
 * travel with every exec request and show in the target's process list. Only whole lines whose first
 * non-blank character is `#` go (none of these programs has a here-document).
 */
export function shellProgram(text: string): string {
  return `\n${text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    .join('\n')}\n`;
}

/** A `my $NAME = <integer>;` constant of a Perl program: the program is where such a version is kept. */
export function perlConstant(source: string, name: string): number {
  const m = new RegExp(`^my \\$${name} = (\\d+);$`, 'm').exec(source);
  if (!m) throw new Error(`Perl constant $${name} not found`);
  return Number(m[1]);
}
