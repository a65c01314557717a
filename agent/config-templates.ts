/**
 * agent.yaml `templates:` (docs/agent.md, "Permissions and templates"): the schema, and the checks across
 * keys that decide whether a template can be filled in safely. A template that would splice an input into
 * shell text, or name an input that does not exist, fails at start with its key path, not at first use.
 */
import { z } from 'zod';
import type { ConfigProblem } from '../core/config.js';
import { argvInputs, checkInput, compilePattern, isRequired, placeholderOf, type Template } from './templates.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const credentialKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a credential key (letters, digits, . _ -, max 64)');
const absPath = z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path');

/**
 * Variables an input may not be named after: each would let a client change what runs or how a shell reads
 * it (PATH picks the program, IFS splits words, ENV and BASH_ENV name files a shell sources, LD_* load code).
 */
const RESERVED = /^(PATH|HOME|USER|LOGNAME|SHELL|IFS|ENV|BASH_ENV|CDPATH|PS4|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|TMPDIR|LD_.*|BASH_FUNC_.*|OUTPOST_.*)$/;

const common = {
  description: z.string().max(1024).optional(),
  required: z.boolean().optional(),
};

const pattern = z.string().min(1).superRefine((p, ctx) => {
  try {
    compilePattern(p);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
  }
});

const inputSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('string'),
    ...common,
    /** The whole value must match (it is anchored). Required: a string input without one accepts anything. */
    pattern,
    maxLength: z.number().int().min(1).max(128 * 1024).default(1024),
    allowOptionLike: z.boolean().default(false),
    default: z.string().optional(),
  }).strict(),
  z.object({
    type: z.literal('integer'),
    ...common,
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    default: z.number().int().optional(),
  }).strict(),
  z.object({ type: z.literal('enum'), ...common, values: z.array(z.string().min(1).max(1024)).min(1), default: z.string().optional() }).strict(),
  z.object({ type: z.literal('boolean'), ...common, default: z.boolean().optional() }).strict(),
  z.object({ type: z.literal('secret'), ...common, credentialKeys: z.array(credentialKey).min(1), default: credentialKey.optional() }).strict(),
]);

export const templateSchema = z
  .object({
    name: z.string().regex(TEMPLATE_NAME, 'letters, digits, . _ - (max 64)'),
    description: z.string().max(1024).default(''),
    argv: z.array(z.string().min(1)).min(1).optional(),
    command: z.string().min(1).optional(),
    script: z.string().min(1).optional(),
    interpreter: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string().regex(ENV_NAME), z.string()).optional(),
    cwd: absPath.optional(),
    runAs: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}\$?$/i, 'must be a POSIX user name').optional(),
    processServer: z.string().min(1).optional(),
    timeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
    inputs: z.record(z.string().regex(ENV_NAME, 'must be an environment variable name (letters, digits, _)'), inputSchema).default({}),
  })
  .strict();

const mentionsPlaceholder = (text: string): boolean => /\{\{/.test(text);

function templateProblems(t: Template, at: string, processServers: ReadonlySet<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string): void => {
    problems.push({ path: `${at}${path}`, message });
  };
  const kinds = [t.argv, t.command, t.script].filter((k) => k !== undefined).length;
  if (kinds !== 1) add('', 'give exactly one of argv, command or script');
  if (t.interpreter !== undefined && t.argv) add('.interpreter', 'argv runs without an interpreter; use command or script');
  if (t.args && t.script === undefined) add('.args', 'args go with script (for argv, put them in argv)');
  if (t.processServer !== undefined && !processServers.has(t.processServer)) add('.processServer', `no process server named ${t.processServer} in processServers`);

  // Placeholders: only whole argv/args words, and only of inputs that exist and are not secret.
  for (const [key, words] of [['argv', t.argv], ['args', t.args]] as const) {
    words?.forEach((word, i) => {
      const name = placeholderOf(word);
      if (name === undefined) {
        if (mentionsPlaceholder(word)) add(`.${key}[${i}]`, 'an input fills a whole word: write exactly {{name}} (no text around it)');
        return;
      }
      const input = t.inputs[name];
      if (!input) add(`.${key}[${i}]`, `{{${name}}} names no input of this template`);
      else if (input.type === 'secret') add(`.${key}[${i}]`, `secret input ${name} may not be an argv word (other users can read a process's arguments); the job sees it as $${name}`);
      else if (!isRequired(input) && input.default === undefined) add(`.${key}[${i}]`, `{{${name}}} needs a value: make input ${name} required or give it a default`);
    });
  }
  const shellText: [string, string | undefined][] = [['.command', t.command], ['.script', t.script], ['.cwd', t.cwd], ['.interpreter', t.interpreter]];
  for (const [key, text] of shellText) {
    if (text !== undefined && mentionsPlaceholder(text)) {
      add(key, key === '.command' || key === '.script'
        ? 'inputs are never spliced into shell text: refer to an input as "$NAME" (quoted) and the job gets it as an environment variable'
        : 'inputs cannot fill this field; only whole argv or args words');
    }
  }
  for (const [name, value] of Object.entries(t.env ?? {})) {
    if (mentionsPlaceholder(value)) add(`.env.${name}`, 'inputs cannot fill env values; every input is already the environment variable of its own name');
    if (Object.hasOwn(t.inputs, name)) add(`.env.${name}`, `is also an input; the input sets $${name}`);
  }

  for (const [name, input] of Object.entries(t.inputs)) {
    const path = `.inputs.${name}`;
    if (RESERVED.test(name)) add(path, `${name} is reserved: a client-chosen value there would change what runs or how the shell reads it`);
    if (input.required === true && input.default !== undefined) add(path, 'required and default exclude each other');
    if (input.type === 'integer' && input.min !== undefined && input.max !== undefined && input.min > input.max) add(`${path}.min`, 'is above max');
    if (input.type === 'enum' && input.values.some((v) => v.includes('\0'))) add(`${path}.values`, 'must not contain NUL');
    if (input.default !== undefined) {
      const checked = checkInput(name, input, input.default, argvInputs(t).has(name));
      if ('rule' in checked) add(`${path}.default`, `breaks its own rule (${checked.rule}): ${checked.message}`);
    }
  }
  return problems;
}

/** Problems across keys of `templates:` (the schema has checked each key alone). */
export function templatesProblems(templates: readonly Template[], processServers: ReadonlySet<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  templates.forEach((t, i) => {
    if (seen.has(t.name)) problems.push({ path: `templates[${i}].name`, message: `two templates are named ${t.name}` });
    seen.add(t.name);
    problems.push(...templateProblems(t, `templates[${i}]`, processServers));
  });
  return problems;
}
