/**
 * What every `outpost` subcommand shares: turning errors into one line plus advice (a stack trace only
 * with --debug), JSON output for scripts, and colour only where a person is watching.
 */
import { OutpostError } from './errors.js';

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** NO_COLOR (https://no-color.org) and non-TTY output both turn colour off. */
export function colorEnabled(stream: { isTTY?: boolean }): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR === '1') return true;
  return stream.isTTY === true && process.env.TERM !== 'dumb';
}

export function paint(enabled: boolean, code: number, text: string): string {
  return enabled ? `\u001b[${code}m${text}\u001b[0m` : text;
}

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function isDebug(): boolean {
  return process.argv.includes('--debug') || process.env.OUTPOST_DEBUG === '1';
}

/** Exit status for a failed command: 2 for usage errors, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  return err instanceof OutpostError && err.code === 'CORE_USAGE' ? 2 : 1;
}

export function reportError(err: unknown, json: boolean, streams: OutputStreams = process): void {
  if (json) {
    const body = err instanceof OutpostError ? err.toJSON() : { error: { code: 'INTERNAL', message: String((err as Error)?.message ?? err) } };
    streams.stderr.write(`${JSON.stringify(body)}\n`);
  } else if (err instanceof OutpostError) {
    const color = colorEnabled(streams.stderr);
    streams.stderr.write(`${paint(color, 31, 'error')} ${err.code}: ${err.message}\n`);
    if (err.action) streams.stderr.write(`  ${err.action}\n`);
  } else {
    streams.stderr.write(`error INTERNAL: ${(err as Error)?.message ?? String(err)}\n`);
    if (!isDebug()) streams.stderr.write('  Run again with --debug for the stack trace.\n');
  }
  if (isDebug() && err instanceof Error && err.stack) streams.stderr.write(`${err.stack}\n`);
}

/**
 * Wraps a commander action: runs it, reports any error in the house format and sets the exit code.
 * `opts.json` selects JSON error output.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const cmd = args[args.length - 1] as { opts?: () => { json?: boolean } } | undefined;
      const json = typeof cmd?.opts === 'function' ? cmd.opts().json === true : process.argv.includes('--json');
      reportError(err, json);
      process.exitCode = exitCodeFor(err);
    }
  };
}
