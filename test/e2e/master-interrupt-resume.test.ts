/**
 * The master under stress, end to end: Ctrl-C cancels the remote job and a second Ctrl-C aborts it; a
 * gateway that dies mid-job does not cost a byte of output — the CLI resumes from its offset, never
 * duplicating and never reordering.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { cliPath } from '../fixtures/cli.js';
import { startStack } from '../fixtures/stack.js';

const stack = await startStack(t, { host: '127.0.0.2' });

interface Live {
  out: () => string;
  err: () => string;
  signal: (s: NodeJS.Signals) => void;
  exited: Promise<number | null>;
  waitFor: (re: RegExp, stream?: 'out' | 'err') => Promise<void>;
}

function startCli(args: string[]): Live {
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...stack.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return {
    out: () => out,
    err: () => err,
    signal: (s) => child.kill(s),
    exited,
    waitFor: (re, stream = 'out') => new Promise((resolve, reject) => {
      const until = Date.now() + 30_000;
      const poll = (): void => {
        if (re.test(stream === 'out' ? out : err)) return resolve();
        if (child.exitCode !== null || Date.now() > until) return reject(new Error(`never saw ${re}: stdout=${out} stderr=${err}`));
        setTimeout(poll, 20);
      };
      poll();
    }),
  };
}

async function jobRecord(id: string): Promise<Record<string, unknown>> {
  return (await stack.agent.request('GET', `/v1/jobs/${id}`)).json();
}

t.test('Ctrl-C cancels the remote job (SIGTERM reaches it) and exits 130', async (t) => {
  const cli = startCli(['job', 'run', '--agent', stack.url, '--', 'sh', '-c', 'trap "echo got TERM; exit 143" TERM; echo ready; while :; do sleep 0.1; done']);
  await cli.waitFor(/ready/);
  cli.signal('SIGINT');
  t.equal(await cli.exited, 130, cli.err());
  t.match(cli.err(), /interrupt: cancelling the remote jobs/);
  t.match(cli.out(), /got TERM/, 'the job saw SIGTERM and its last words were still printed');
  const id = /job (\S+) submitted/.exec(cli.err())?.[1] ?? '';
  const job = await stack.agent.waitDone(id);
  t.equal(job.state, 'cancelled');
  t.match(cli.err(), /cancelled/, 'the summary shows the state');
});

t.test('a second Ctrl-C aborts: SIGKILL to a job that ignores SIGTERM', async (t) => {
  const cli = startCli(['job', 'run', '--agent', stack.url, '--', 'sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done']);
  await cli.waitFor(/ready/);
  cli.signal('SIGINT');
  await cli.waitFor(/press Ctrl-C again to abort/, 'err');
  cli.signal('SIGINT');
  t.equal(await cli.exited, 130, cli.err());
  t.match(cli.err(), /interrupt: aborting the remote jobs/);
  const id = /job (\S+) submitted/.exec(cli.err())?.[1] ?? '';
  const job = await jobRecord(id);
  t.equal(job.state, 'cancelled');
  t.equal(job.endReason, 'abort', 'ended by abort, not by the cancel grace period');
});

t.test('the gateway dies mid-job: output resumes from the last offset, complete and in order', async (t) => {
  const cli = startCli(['job', 'run', '--agent', stack.url, '--', 'sh', '-c', 'i=1; while [ $i -le 80 ]; do echo "line $i"; i=$((i+1)); sleep 0.05; done']);
  await cli.waitFor(/line 5\n/);
  await stack.killGateway();
  await new Promise((r) => setTimeout(r, 700));
  await stack.startGateway();
  t.equal(await cli.exited, 0, cli.err());
  t.match(cli.err(), /output connection lost .*resuming at byte \d+/);
  const lines = cli.out().trimEnd().split('\n').map((l) => l.replace(/^\[[^\]]+\]\s+/, ''));
  t.same(lines, Array.from({ length: 80 }, (_, i) => `line ${i + 1}`), 'every line once, in order');
});
