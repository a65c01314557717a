/**
 * `outpost job run` and the one-job commands end to end against one agent: the real CLI, through the real
 * gateway (mutual TLS), to the real agent, running real processes. Fleets: master-fan-out.test.ts.
 */
import t from 'tap';
import { runOutpost } from '../fixtures/cli.js';
import { startStack } from '../fixtures/stack.js';

const one = await startStack(t, { host: '127.0.0.2' });
const env = one.env;

t.test('one agent: argv travels as typed and the job\'s exit code comes back', async (t) => {
  const r = await runOutpost(['job', 'run', '--agent', one.url, '--', 'sh', '-c', 'echo "it is $0"; exit 4', 'argv0 with spaces'], { env });
  t.equal(r.code, 4, `exit status is the job's own (${r.stderr})`);
  t.match(r.stdout, /^\[127\.0\.0\.2:\d+\] it is argv0 with spaces$/m);
  t.match(r.stderr, /127\.0\.0\.2:\d+\s+failed\s+4\s/);
});

t.test('--script sends a local file\'s text, words after -- are its arguments', async (t) => {
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const file = join(one.dir, 'report.sh');
  await writeFile(file, '#!/bin/sh\necho "args: $# first=[$1] second=[$2]"\n');
  const r = await runOutpost(['job', 'run', '--agent', one.url, '--script', file, '--', 'a b', '$HOME'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /args: 2 first=\[a b\] second=\[\$HOME\]/);
});

t.test('timeout: the agent kills the job and the state is timed_out', async (t) => {
  const r = await runOutpost(['job', 'run', '--agent', one.url, '--timeout', '1', '--', 'sleep', '30'], { env, timeoutMs: 30_000 });
  t.equal(r.code, 124, r.stderr);
  t.match(r.stderr, /timed_out/);
});

t.test('outpost agent status and job list through the gateway', async (t) => {
  const r = await runOutpost(['agent', 'status', '--agent', one.url, '--json'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { version: String });
  const list = await runOutpost(['job', 'list', '--agent', one.url, '--json'], { env });
  t.equal(list.code, 0, list.stderr);
});

t.test('a GET-only client may watch but not run jobs', async (t) => {
  const r = await runOutpost(['job', 'run', '--agent', one.url, '--', 'true'], { env: one.monitorEnv });
  t.equal(r.code, 1);
  t.match(r.stderr, /MASTER_ACCESS_DENIED: .*GATEWAY_/);
  const s = await runOutpost(['agent', 'status', '--agent', one.url], { env: one.monitorEnv });
  t.equal(s.code, 0, s.stderr);
});

t.test('job output --follow, job abort and job status on a real running job', async (t) => {
  const id = await one.agent.submit({ argv: ['sh', '-c', 'echo started; sleep 30'] });
  const follow = runOutpost(['job', 'output', id, '--agent', one.url, '--follow'], { env, timeoutMs: 60_000 });
  const deadline = Date.now() + 20_000;
  while (!(await one.agent.output(id)).includes('started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const abort = await runOutpost(['job', 'abort', id, '--agent', one.url], { env });
  t.equal(abort.code, 0, abort.stderr);
  const followed = await follow;
  t.equal(followed.code, 0, followed.stderr);
  t.equal(followed.stdout, 'started\n', 'followed to the end of the job');
  const status = await runOutpost(['job', 'status', id, '--agent', one.url], { env });
  t.match(status.stdout, /^state\s+cancelled$/m);
  t.match(status.stdout, /^signal\s+SIGKILL$/m);
});
