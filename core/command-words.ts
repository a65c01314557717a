/**
 * Which `outpost` command a command line runs, from its words alone (options skipped): what the daemons'
 * start-up settings decide on before commander has parsed anything. Pure, and loads nothing.
 */

/** True when `argv` (process.argv) runs `outpost … <words[0]> <words[1]> …`, e.g. ['agent', 'start']. */
export function runsCommand(argv: readonly string[], ...words: readonly string[]): boolean {
  const given = argv.slice(2).filter((a) => !a.startsWith('-'));
  return words.every((w, i) => given[i] === w);
}
