/**
 * Job templates (docs/agent.md, "Permissions and templates"): a job the administrator wrote once, with typed
 * inputs a client fills in. Pure: the checks and the expansion take and return plain values.
 *
 * Inputs never become shell text. Every input reaches the job as an environment variable of its own name;
 * an argv (or script args) word that is exactly `{{name}}` becomes that value as one whole word, which no
 * program ever re-splits. A `command` or `script` sees inputs only as `$NAME`, so a value like `$(rm -rf /)`
 * is data to the shell, never code. The config check (config-templates.ts) refuses templates that would
 * splice an input anywhere else.
 */
import { agentError } from './errors.js';
import type { OutpostError } from '../core/errors.js';

export type InputValue = string | number | boolean;

/** What every input may say, whatever its type. */
interface InputCommon<T> {
  readonly default?: T | undefined;
  readonly required?: boolean | undefined;
  readonly description?: string | undefined;
}

export interface StringInput extends InputCommon<string> {
  readonly type: 'string';
  readonly pattern: string;
  readonly maxLength: number;
  /** Let a value that starts with `-` become an argv word (it could be read as an option). */
  readonly allowOptionLike: boolean;
}
export interface IntegerInput extends InputCommon<number> {
  readonly type: 'integer';
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}
export interface EnumInput extends InputCommon<string> {
  readonly type: 'enum';
  readonly values: readonly string[];
}
export interface BooleanInput extends InputCommon<boolean> {
  readonly type: 'boolean';
}
/** The value a client gives is a credential key; the job gets the secret behind it (secretEnv). */
export interface SecretInput extends InputCommon<string> {
  readonly type: 'secret';
  readonly credentialKeys: readonly string[];
}
export type TemplateInput = StringInput | IntegerInput | EnumInput | BooleanInput | SecretInput;

export interface Template {
  readonly name: string;
  readonly description: string;
  readonly argv?: readonly string[] | undefined;
  readonly command?: string | undefined;
  readonly script?: string | undefined;
  readonly interpreter?: string | undefined;
  readonly args?: readonly string[] | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly cwd?: string | undefined;
  readonly runAs?: string | undefined;
  readonly processServer?: string | undefined;
  readonly timeoutSeconds?: number | undefined;
  readonly inputs: Readonly<Record<string, TemplateInput>>;
}

/** What a template expands to: the job fields, and what the job record shows (secret inputs masked). */
export interface Expansion {
  readonly job: {
    argv?: string[];
    command?: string;
    script?: string;
    interpreter?: string;
    args?: string[];
    env: Record<string, string>;
    secretEnv?: Record<string, string>;
    cwd?: string;
    runAs?: string;
    processServer?: string;
    timeoutSeconds?: number;
  };
  readonly record: { readonly name: string; readonly inputs: Readonly<Record<string, InputValue>> };
}

export const MASKED = '***';

/** `{{name}}` as a whole word; anything else with `{{` in it is refused by the config check. */
const PLACEHOLDER = /^\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}$/;

export function placeholderOf(word: string): string | undefined {
  return PLACEHOLDER.exec(word)?.[1];
}

/**
 * A pattern must match the whole value: anchored here, so `[a-z]+` cannot let `abc; rm -rf /` through on
 * its first three letters. `u`: a value is read as code points, as an operator expects.
 */
export function compilePattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

// Config objects are frozen and replaced whole on reload, so a pattern compiled once per input object is
// never stale.
const compiled = new WeakMap<StringInput, RegExp>();
function patternOf(input: StringInput): RegExp {
  let re = compiled.get(input);
  if (!re) {
    re = compilePattern(input.pattern);
    compiled.set(input, re);
  }
  return re;
}

export interface InputProblem {
  readonly input: string;
  /** The rule the value broke: type, pattern, maxLength, option-like, min, max, enum, credentialKeys, required, unknown. */
  readonly rule: string;
  readonly message: string;
}

const show = (v: unknown): string => (typeof v === 'string' && v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}…` : JSON.stringify(v));

/**
 * The value as the job gets it, or the rule it breaks. `asArgvWord`: the input fills a whole argv word.
 * Integers and booleans also come as strings, as a command line's `--input k=v` sends them.
 */
export function checkInput(name: string, input: TemplateInput, value: unknown, asArgvWord: boolean): { value: InputValue } | InputProblem {
  const problem = (rule: string, message: string): InputProblem => ({ input: name, rule, message: `input ${name}: ${message}` });
  switch (input.type) {
    case 'string': {
      if (typeof value !== 'string') return problem('type', `expected a string, got ${typeof value}`);
      if (value.includes('\0')) return problem('type', 'must not contain NUL');
      if (value.length > input.maxLength) return problem('maxLength', `is ${value.length} characters; at most ${input.maxLength} (maxLength)`);
      if (!patternOf(input).test(value)) return problem('pattern', `${show(value)} does not match ${input.pattern} (pattern)`);
      if (asArgvWord && value.startsWith('-') && !input.allowOptionLike) {
        return problem('option-like', `${show(value)} starts with "-" and would be read as an option (set allowOptionLike on the input to permit it)`);
      }
      return { value };
    }
    case 'integer': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) return problem('type', `expected an integer, got ${show(value)}`);
      if (input.min !== undefined && n < input.min) return problem('min', `${n} is below ${input.min} (min)`);
      if (input.max !== undefined && n > input.max) return problem('max', `${n} is above ${input.max} (max)`);
      return { value: n };
    }
    case 'enum':
      if (typeof value !== 'string' || !input.values.includes(value)) return problem('enum', `${show(value)} is not one of ${input.values.join(', ')}`);
      return { value };
    case 'boolean':
      if (value === true || value === 'true') return { value: true };
      if (value === false || value === 'false') return { value: false };
      return problem('type', `expected true or false, got ${show(value)}`);
    case 'secret':
      if (typeof value !== 'string' || !input.credentialKeys.includes(value)) {
        return problem('credentialKeys', `names a credential key this template does not offer; choose one of ${input.credentialKeys.join(', ')}`);
      }
      return { value };
  }
}

/** Names of the inputs that fill whole argv (or script args) words. */
export function argvInputs(template: Template): Set<string> {
  const names = new Set<string>();
  for (const word of [...(template.argv ?? []), ...(template.args ?? [])]) {
    const name = placeholderOf(word);
    if (name !== undefined) names.add(name);
  }
  return names;
}

export function isRequired(input: TemplateInput): boolean {
  return input.required ?? input.default === undefined;
}

const CODES: Readonly<Record<string, 'AGENT_TEMPLATE_INPUT_MISSING' | 'AGENT_TEMPLATE_INPUT_UNKNOWN'>> = {
  required: 'AGENT_TEMPLATE_INPUT_MISSING',
  unknown: 'AGENT_TEMPLATE_INPUT_UNKNOWN',
};

function inputError(problems: readonly InputProblem[]): OutpostError {
  const first = problems[0] as InputProblem;
  return agentError(CODES[first.rule] ?? 'AGENT_TEMPLATE_INPUT_INVALID', problems.map((p) => p.message).join('; '), {
    details: { input: first.input, rule: first.rule, problems },
  });
}

/** The job a template and a client's inputs make; throws AGENT_TEMPLATE_INPUT_* naming the input and the rule. */
export function expandTemplate(template: Template, given: Readonly<Record<string, unknown>>): Expansion {
  const problems: InputProblem[] = [];
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(template.inputs, name)) {
      const known = Object.keys(template.inputs).join(', ') || '(none)';
      problems.push({ input: name, rule: 'unknown', message: `input ${name}: template ${template.name} has no such input; its inputs: ${known}` });
    }
  }
  const inArgv = argvInputs(template);
  const values = new Map<string, InputValue>();
  for (const [name, input] of Object.entries(template.inputs)) {
    const raw = Object.hasOwn(given, name) ? given[name] : input.default;
    if (raw === undefined) {
      if (isRequired(input)) problems.push({ input: name, rule: 'required', message: `input ${name}: required by template ${template.name} and not given` });
      continue;
    }
    const checked = checkInput(name, input, raw, inArgv.has(name));
    if ('rule' in checked) problems.push(checked);
    else values.set(name, checked.value);
  }
  if (problems.length > 0) throw inputError(problems);

  const env: Record<string, string> = { ...template.env };
  const secretEnv: Record<string, string> = {};
  const shown: Record<string, InputValue> = {};
  for (const [name, value] of values) {
    if (template.inputs[name]?.type === 'secret') {
      secretEnv[name] = String(value);
      shown[name] = MASKED;
    } else {
      env[name] = String(value);
      shown[name] = value;
    }
  }
  // The config check guarantees every placeholder names an input that has a value here (required or defaulted).
  const fill = (words: readonly string[]): string[] => words.map((w) => {
    const name = placeholderOf(w);
    return name === undefined ? w : String(values.get(name));
  });
  const t = template;
  return {
    job: {
      ...(t.argv ? { argv: fill(t.argv) } : {}),
      ...(t.command !== undefined ? { command: t.command } : {}),
      ...(t.script !== undefined ? { script: t.script } : {}),
      ...(t.interpreter !== undefined ? { interpreter: t.interpreter } : {}),
      ...(t.args ? { args: fill(t.args) } : {}),
      env,
      ...(Object.keys(secretEnv).length > 0 ? { secretEnv } : {}),
      ...(t.cwd !== undefined ? { cwd: t.cwd } : {}),
      ...(t.runAs !== undefined ? { runAs: t.runAs } : {}),
      ...(t.processServer !== undefined ? { processServer: t.processServer } : {}),
      ...(t.timeoutSeconds !== undefined ? { timeoutSeconds: t.timeoutSeconds } : {}),
    },
    record: { name: t.name, inputs: shown },
  };
}

/** A template as `GET /v1/templates` lists it: what it runs and what it asks for. */
export function templateView(t: Template): Record<string, unknown> {
  const kind = t.argv ? 'argv' : t.command !== undefined ? 'command' : 'script';
  return {
    name: t.name,
    description: t.description,
    kind,
    ...(t.argv ? { argv: t.argv } : {}),
    ...(t.command !== undefined ? { command: t.command } : {}),
    ...(t.script !== undefined ? { scriptBytes: Buffer.byteLength(t.script) } : {}),
    ...(t.interpreter !== undefined ? { interpreter: t.interpreter } : {}),
    ...(t.args ? { args: t.args } : {}),
    ...(t.runAs !== undefined ? { runAs: t.runAs } : {}),
    ...(t.processServer !== undefined ? { processServer: t.processServer } : {}),
    ...(t.timeoutSeconds !== undefined ? { timeoutSeconds: t.timeoutSeconds } : {}),
    inputs: Object.entries(t.inputs).map(([name, input]) => ({ name, ...input, required: isRequired(input) })),
  };
}
