/**
 * `outpost job run`: parse the job, the targets and the options, fan out, report, set the exit status.
 * Ctrl-C cancels the remote jobs (SIGTERM, then the agent's grace period); a second Ctrl-C aborts them
 * (SIGKILL of the whole process group); a third leaves at once.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { action, colorEnabled } from '../core/cli-support.js';
import { masterError } from './errors.js';
import { buildJobRequest, parsePositiveInt, parseSeconds } from './job-request.js';
import { mergeTargets, parseAgentsFile, parseTargetSpec, type Target } from './targets.js';
import { runJobs } from './run-jobs.js';
import { Reporter } from './reporter.js';
import { OutputDir } from './output-dir.js';
import { shouldShowProgress } from './summary.js';
import { addTlsOptions, clientPool, type TlsFlags } from './cli-options.js';
import type { Strategy } from './candidates.js';

interface RunFlags extends TlsFlags {
  agent?: string[];
  agentsFile?: string;
  concurrency: string;
  timeSpan?: string;
  timeout?: string;
  runAs?: string;
  processServer?: string;
  credentialKey?: string;
  description?: string;
  command?: string;
  script?: string;
  interpreter?: string;
  env?: string[];
  cwd?: string;
  pick: string;
  explain?: boolean;
  progress: boolean;
  outputDir?: string;
  connectTimeout: string;
  maxFailures?: string;
  template?: string;
  input?: string[];
  loginProfile?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerRunCommand(job: Command): void {
  addTlsOptions(
    job
      .command('run')
      .description('run one job on one or many agents, streaming each host\'s output with a host prefix')
      .argument('[command...]', 'after `--`: the program and its arguments, passed as argv (no shell)')
      .option('--agent <url>', 'agent gateway URL; URL,URL,… = candidates for one target (repeatable)', collect)
      .option('--agents-file <file>', 'targets, one per line: [NAME] URL[,URL…]')
      .option('--concurrency <n>', 'at most this many hosts at once', '16')
      .option('--time-span <seconds>', 'spread starts over this window; hosts not started in it are skipped')
      .option('--timeout <seconds>', 'the agent kills the job\'s process group after this long')
      .option('--run-as <user>', 'run as this OS user (the agent must allow it)')
      .option('--process-server <name>', 'run agentlessly over SSH on this process server of the agent')
      .option('--credential-key <key>', 'credential the agent resolves from its own store (never a password)')
      .option('--description <text>', 'job description; %{host} and %{command} are filled per host')
      .option('--template <name>', 'run this template of the agent\'s (`outpost job templates` lists them) instead of a command')
      .option('--input <name=value>', 'a value for one of the template\'s inputs (repeatable)', collect)
      .option('--command <line>', 'a command line run by /bin/sh -c (or --interpreter) on the host')
      .option('--script <file>', 'a local script file sent as text and run by --interpreter; words after -- are its arguments')
      .option('--interpreter <path>', 'interpreter for --command or --script (must be whitelisted by the agent)')
      .option('--env <name=value>', 'environment variable for the job (repeatable)', collect)
      .option('--cwd <dir>', 'working directory of the job')
      .option('--login-profile', 'run through a login shell, so the run-as user\'s profile is read first')
      .option('--pick <strategy>', 'among candidates: first (first reachable) or least-loaded', 'first')
      .option('--explain', 'say which candidate was picked and why')
      .option('--output-dir <dir>', 'write each host\'s output to DIR/<host>; the terminal shows failures and the summary')
      .option('--connect-timeout <seconds>', 'give up on a host whose TCP connection and TLS handshake take longer', '10')
      .option('--max-failures <n>', 'stop submitting once this many hosts did not succeed (running jobs finish)')
      .option('--no-progress', 'never show a progress bar'),
  ).action(action(async (words: string[], flags: RunFlags) => {
    process.exitCode = await runJob(words, flags);
  }));
}

async function targetsOf(flags: RunFlags): Promise<Target[]> {
  const fromFlags = (flags.agent ?? []).map(parseTargetSpec);
  let fromFile: Target[] = [];
  if (flags.agentsFile) {
    const text = await readFile(flags.agentsFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw masterError('MASTER_AGENTS_FILE_INVALID', `cannot read ${flags.agentsFile} (${err.code ?? err.message})`);
    });
    fromFile = parseAgentsFile(text, flags.agentsFile);
  }
  return mergeTargets([fromFlags, fromFile]);
}

export async function runJob(words: string[], flags: RunFlags): Promise<number> {
  if (flags.pick !== 'first' && flags.pick !== 'least-loaded') {
    throw masterError('MASTER_USAGE', `--pick must be first or least-loaded, got "${flags.pick}"`);
  }
  const scriptText = flags.script
    ? await readFile(flags.script, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw masterError('MASTER_USAGE', `cannot read --script ${flags.script} (${err.code ?? err.message})`);
    })
    : undefined;
  const request = buildJobRequest({
    words, command: flags.command, scriptText, interpreter: flags.interpreter, env: flags.env, cwd: flags.cwd,
    runAs: flags.runAs, loginProfile: flags.loginProfile, credentialKey: flags.credentialKey, processServer: flags.processServer,
    timeout: flags.timeout, description: flags.description, template: flags.template, inputs: flags.input,
  });
  const targets = await targetsOf(flags);
  const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
  const timeSpanMs = flags.timeSpan !== undefined ? parseSeconds(flags.timeSpan, '--time-span') * 1000 : undefined;
  const connectTimeoutMs = parseSeconds(flags.connectTimeout, '--connect-timeout') * 1000;
  const requestTimeoutMs = parseSeconds(flags.requestTimeout ?? '30', '--request-timeout') * 1000;
  const maxFailures = flags.maxFailures !== undefined ? parsePositiveInt(flags.maxFailures, '--max-failures', 1_000_000) : undefined;
  const outputDir = flags.outputDir !== undefined ? await OutputDir.create(flags.outputDir) : undefined;
  // The shared option handling resolves the identity (files, environment, prompt); the engine opens its own connections.
  const { pool: unused, creds } = await clientPool(flags);
  await unused.close();
  const json = flags.json === true;
  const reporter = new Reporter({
    stdout: process.stdout,
    stderr: process.stderr,
    color: colorEnabled(process.stdout),
    json,
    outputDir,
    progress: shouldShowProgress({ isTTY: process.stdout.isTTY === true && process.stderr.isTTY === true, hosts: targets.length, json, disabled: !flags.progress }),
    hosts: targets.map((t) => t.name),
  });

  // First Ctrl-C cancels the remote jobs, the second kills them, the third leaves.
  const cancel = new AbortController();
  const kill = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      reporter.note('interrupt: cancelling the remote jobs (SIGTERM); press Ctrl-C again to abort them (SIGKILL)');
      cancel.abort();
    } else if (interrupts === 2) {
      reporter.note('interrupt: aborting the remote jobs (SIGKILL); press Ctrl-C again to leave without waiting');
      kill.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  // Output piped into `head` and the like: a closed pipe ends the printing, not the run.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  try {
    const result = await runJobs({
      targets,
      job: request,
      credentials: creds,
      concurrency,
      connectTimeoutMs,
      requestTimeoutMs,
      ...(timeSpanMs !== undefined ? { timeSpanMs } : {}),
      ...(maxFailures !== undefined ? { maxFailures } : {}),
      strategy: flags.pick as Strategy,
      signal: cancel.signal,
      killSignal: kill.signal,
      events: {
        started: () => reporter.hostStarted(),
        choice: (host, choice) => {
          if (flags.explain) for (const line of choice.explanation) reporter.note(`[${host}] candidate ${line}`);
        },
        // With --output-dir the terminal is kept for failures and the summary; job ids are in the summary and --json.
        submitted: (host, agent, id) => {
          if (!outputDir) reporter.note(`[${host}] job ${id} submitted to ${agent}`);
        },
        output: (host, data) => reporter.output(host, data),
        resumed: (host, offset, reason) => reporter.note(`[${host}] output connection lost (${reason}); resuming at byte ${offset}`),
        done: (row) => reporter.hostDone(row),
      },
    });
    await reporter.finish(result.hosts, result.interrupted, result.stoppedEarly);
    return result.exitStatus;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
