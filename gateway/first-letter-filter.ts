/**
 * A cheap pre-check for "could this header name be one of these?", built from the very list it guards:
 * most headers (host, accept, user-agent) are ruled out by their first byte without lowercasing. Deriving
 * the table from the list means adding a name to the list can never leave the shortcut behind.
 */
export type FirstLetterFilter = (name: string) => boolean;

/** `names` and `prefixes` are lowercase; the filter accepts a name whose first byte, in either case, starts one. */
export function firstLetterFilter(names: Iterable<string>, prefixes: Iterable<string> = []): FirstLetterFilter {
  const table = new Uint8Array(128);
  for (const n of [...names, ...prefixes]) {
    if (n === '') throw new Error('firstLetterFilter: an empty name would match every header');
    const c = n.charCodeAt(0);
    if (c >= 128) throw new Error(`firstLetterFilter: ${JSON.stringify(n)} does not start with ASCII`);
    table[c] = 1;
    table[String.fromCharCode(c).toUpperCase().charCodeAt(0)] = 1;
    table[String.fromCharCode(c).toLowerCase().charCodeAt(0)] = 1;
  }
  // A name starting outside ASCII cannot match an ASCII list; table[c] is undefined there.
  return (name) => table[name.charCodeAt(0)] === 1;
}
