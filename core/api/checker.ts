/**
 * Collects the problems of a request (body or query) as `path: message`, the way the config errors read
 * (`env.NAME`, `argv[0]`). Pure.
 */

export interface RequestProblem {
  path: string;
  message: string;
}

/** Linux MAX_ARG_STRLEN: longer single arguments cannot be exec'd. */
export const MAX_ARG = 128 * 1024;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v;
}

export const expected = (what: string, v: unknown): string => `Invalid input: expected ${what}, received ${typeName(v)}`;

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class Checker {
  readonly problems: RequestProblem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** A string of at most `max` characters without NUL (and at least `min`). */
  text(path: string, v: unknown, max: number, min = 0): void {
    if (typeof v !== 'string') {
      this.add(path, expected('string', v));
      return;
    }
    if (v.length > max) this.add(path, `Too big: expected string to have <=${max} characters`);
    if (v.includes('\0')) this.add(path, 'must not contain NUL');
    if (v.length < min) this.add(path, `Too small: expected string to have >=${min} characters`);
  }

  matching(path: string, v: unknown, pattern: RegExp, message: string): void {
    if (typeof v !== 'string') this.add(path, expected('string', v));
    else if (!pattern.test(v)) this.add(path, message);
  }

  /** A list of argument strings. */
  list(path: string, v: unknown, min: number, max: number): void {
    if (!Array.isArray(v)) {
      this.add(path, expected('array', v));
      return;
    }
    if (v.length < min) this.add(path, `Too small: expected array to have >=${min} items`);
    if (v.length > max) this.add(path, `Too big: expected array to have <=${max} items`);
    v.forEach((item, i) => this.text(`${path}[${i}]`, item, MAX_ARG));
  }

  integer(path: string, v: unknown, min: number, max: number): void {
    if (typeof v !== 'number' || Number.isNaN(v)) this.add(path, expected('number', v));
    else if (!Number.isSafeInteger(v)) this.add(path, expected('int', v));
    else if (v < min) this.add(path, `Too small: expected number to be >=${min}`);
    else if (v > max) this.add(path, `Too big: expected number to be <=${max}`);
  }

  /** An object whose keys match `names`; `each` checks every value. */
  record(path: string, v: unknown, names: RegExp, each: (path: string, value: unknown) => void): void {
    if (!isPlainObject(v)) {
      this.add(path, expected('record', v));
      return;
    }
    for (const [name, value] of Object.entries(v)) {
      if (!names.test(name)) this.add(`${path}.${name}`, 'Invalid key in record');
      else each(`${path}.${name}`, value);
    }
  }
}
