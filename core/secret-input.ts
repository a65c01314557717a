/**
 * Passwords and passphrases never come from argv (visible in `ps` and shell history): they are read from a
 * file, from a named environment variable, or typed at a hidden TTY prompt, in that order.
 */
import { readFile } from 'node:fs/promises';
import { coreError } from './errors.js';

export interface SecretSource {
  /** `--password-file`; the first line is the secret (a trailing newline is not part of it). */
  file?: string | undefined;
  /** Name of the environment variable to consult, e.g. OUTPOST_CA_PASSWORD. */
  envVar?: string | undefined;
  /** Prompt text for the TTY; `confirm` asks twice (for a new secret). */
  prompt: string;
  confirm?: boolean;
  /** Streams, injectable for tests. */
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

export async function readSecret(source: SecretSource): Promise<string> {
  if (source.file) {
    const text = await readFile(source.file, 'utf8');
    return text.replace(/\r?\n$/, '').split(/\r?\n/)[0] ?? '';
  }
  if (source.envVar && process.env[source.envVar] !== undefined) {
    return process.env[source.envVar] ?? '';
  }
  const input = source.input ?? process.stdin;
  const output = source.output ?? process.stderr;
  if (!input.isTTY) {
    const hint = source.envVar ? ` or set ${source.envVar}` : '';
    throw coreError('CORE_SECRET_UNAVAILABLE', `${source.prompt.replace(/:\s*$/, '')} is required: use --password-file FILE${hint}`);
  }
  const first = await promptHidden(source.prompt, input, output);
  if (source.confirm) {
    const second = await promptHidden('Repeat to confirm: ', input, output);
    if (first !== second) throw coreError('CORE_USAGE', 'the two entries do not match');
  }
  return first;
}

function promptHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    // Echo off before the prompt appears: whatever is typed (or pasted) after seeing it is never echoed.
    input.setRawMode?.(true);
    output.write(prompt);
    let value = '';
    input.resume();
    input.setEncoding('utf8');
    const done = (err?: Error): void => {
      input.setRawMode?.(false);
      input.pause();
      input.removeListener('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(coreError('CORE_USAGE', 'interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on('data', onData);
  });
}
