/**
 * YAML configuration: parse, validate against a part's zod schema, freeze. Every problem is reported with
 * its key path in one error, so an operator fixes the file in one pass instead of one key per restart.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { coreError } from './errors.js';
import { deepFreeze } from './deep-freeze.js';

export interface ConfigProblem {
  path: string;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Turns zod issues into `path: message` problems; unknown keys get one problem per key. */
export function problemsOf(error: z.ZodError): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
      }
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

export { deepFreeze };

/** Validates an already-parsed value; `source` names the file in messages. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): Readonly<z.output<S>> {
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = problemsOf(result.error);
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
    throw coreError('CORE_CONFIG_INVALID', `${source} is invalid:\n${lines}`, { details: { problems } });
  }
  return deepFreeze(result.data);
}

export function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const msg = doc.errors.map((e) => e.message.split('\n')[0]).join('; ');
    throw coreError('CORE_CONFIG_UNREADABLE', `${source} is not valid YAML: ${msg}`);
  }
  return doc.toJS();
}

export async function loadConfigFile<S extends z.ZodType>(schema: S, path: string): Promise<Readonly<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // readFile rejects only with Node's own errors, and every one of them has a code (ENOENT, EISDIR, ERR_…).
    const code = (err as NodeJS.ErrnoException).code as string;
    throw coreError('CORE_CONFIG_UNREADABLE', `cannot read ${path}: ${code}`, { cause: err });
  }
  return parseConfig(schema, parseYaml(text, path), path);
}
