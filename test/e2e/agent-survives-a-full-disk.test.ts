/**
 * A full disk is survived: maxOutputBytes cuts a job's output with a marker line and says so in its record
 * (the job runs on); as root, on a small tmpfs as dataDir, a job that fills the disk does not take the
 * agent down, new jobs are refused with 507 and Retry-After below minFreeBytes, a journal write the disk
 * refuses fails only its request and leaves the journal whole, records survive a restart, and freeing
 * space is enough for jobs to be accepted again.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { startAgentProcess, type RunningAgent, type Tap } from '../fixtures/agent.js';
import { isRoot } from '../fixtures/cli.js';
import { waitFor } from '../fixtures/wait.js';

const marker = (n: number): string => `[outpost: output cut at ${n} bytes; maxOutputBytes]\n`;

t.test('output beyond maxOutputBytes is cut with a marker, the job runs on and its record says so', async (t) => {
  const agent = await startAgentProcess(t, { config: { maxOutputBytes: 10_000 } });
  // 30,000 bytes without a newline, then more on stderr; the exit code proves the job ran to its end.
  const big = await agent.submit({ command: "head -c 30000 /dev/zero | tr '\\0' a; echo tail >&2; exit 3" });
  const job = await agent.waitDone(big);
  t.equal(job.state, 'failed');
  t.equal(job.exitCode, 3, 'the job was not killed at the cap');
  t.equal(job.outputTruncated, true);
  t.equal(await agent.output(big), `${'a'.repeat(10_000)}\n${marker(10_000)}`);

  const lower = await agent.submit({ command: 'seq 1 1000', maxOutputBytes: 20 });
  t.equal((await agent.waitDone(lower)).outputTruncated, true);
  t.equal(await agent.output(lower), `1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n${marker(20)}`, 'a cut at a line end adds no empty line');

  const exact = await agent.submit({ command: 'printf 0123456789', maxOutputBytes: 10 });
  const exactJob = await agent.waitDone(exact);
  t.notOk('outputTruncated' in exactJob, 'output of exactly the cap is not cut');
  t.equal(await agent.output(exact), '0123456789');

  const higher = await agent.request('POST', '/v1/jobs', { command: 'true', maxOutputBytes: 10_001 });
  t.equal(higher.status, 400);
  t.equal(higher.json().error?.code, 'AGENT_OUTPUT_LIMIT_TOO_HIGH');

  // A process the job leaves behind still gets its output recorded (not a SIGPIPE once the job ended).
  const left = await agent.submit({ command: '(sleep 0.3; echo late) & echo early' });
  t.equal((await agent.waitDone(left)).state, 'succeeded');
  t.equal(await waitFor(async () => ((await agent.output(left)) === 'early\nlate\n' ? 'ok' : undefined), 10_000, 'the late line'), 'ok');
});

t.test('a long script that prints a lot before the shell has read all of it does not stall on its own output', async (t) => {
  const agent = await startAgentProcess(t);
  // The shell reads the script from a pipe as it runs it: 200 kB of output come before the last of the
  // script's 200 kB is read, so the supervisor must pump output while the script is still being fed.
  const script = `head -c 200000 /dev/zero | tr '\\0' a; echo\n${'# padding\n'.repeat(20_000)}echo end\n`;
  const id = await agent.submit({ script, timeoutSeconds: 30 });
  t.equal((await agent.waitDone(id, 60_000)).state, 'succeeded');
  t.equal(await agent.output(id), `${'a'.repeat(200_000)}\nend\n`);
});

async function journalLines(dataDir: string): Promise<unknown[]> {
  const text = await readFile(join(dataDir, 'journal.jsonl'), 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the journal ends in a partial line');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
}

async function setConfig(agent: RunningAgent, change: Record<string, unknown>): Promise<void> {
  const config = { ...(parse(await readFile(agent.configPath, 'utf8')) as Record<string, unknown>), ...change };
  await writeFile(agent.configPath, stringify(config));
}

/** A fresh directory whose `data` is an 8 MiB tmpfs, unmounted when the test ends. */
async function smallDisk(t: Tap): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-disk-'));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dataDir]);
  t.teardown(async () => {
    // Lazy: the agent's teardown (which stops it) may come after this one.
    execFileSync('umount', ['-l', dataDir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

if (!isRoot) {
  t.test('a full dataDir (tmpfs)', { skip: 'needs root (mounts a small tmpfs as dataDir)' }, () => undefined);
} else {
  t.test('a full dataDir: the agent stays up, refuses new jobs with 507, keeps its journal whole, and recovers', async (t) => {
    const dir = await smallDisk(t);
    const agent = await startAgentProcess(t, { dir, config: { minFreeBytes: 2 * 1024 * 1024, maxOutputBytes: 64 * 1024 * 1024 } });
    interface Status {
      disk: { ok: boolean; freeBytes: number; floorBytes: number };
      store: { lastError: { code: string } | null };
    }
    const status = async (): Promise<Status> => (await agent.request('GET', '/v1/status')).json() as unknown as Status;
    t.match((await status()).disk, { ok: true, floorBytes: 2 * 1024 * 1024 });

    const kept = await agent.submit({ command: 'echo keep-me' });
    t.equal((await agent.waitDone(kept)).state, 'succeeded');
    const go = join(dir, 'go');
    const running = await agent.submit({ command: `while [ ! -e ${go} ]; do sleep 0.05; done; echo finished` });

    // 20 MB into an 8 MiB filesystem: the output stops where the disk did, the job and the agent go on.
    const filler = await agent.submit({ command: 'head -c 20000000 /dev/zero' });
    const filled = await agent.waitDone(filler);
    t.equal(filled.state, 'succeeded', 'the job itself was not failed by the full disk');
    t.equal(filled.outputTruncated, true);
    t.match(filled.message, /output cut at \d+ bytes: No space left on device/);
    t.equal(agent.child.exitCode, null, 'the agent is still running');

    const disk = (await status()).disk;
    t.equal(disk.ok, false, 'status says the disk is below the floor');
    t.ok(disk.freeBytes < disk.floorBytes);
    const refused = await agent.request('POST', '/v1/jobs', { command: 'true' });
    t.equal(refused.status, 507);
    t.equal(refused.json().error?.code, 'AGENT_DISK_LOW');
    t.equal(refused.headers['retry-after'], '60');
    t.equal((await agent.request('GET', `/v1/jobs/${kept}`)).json().state, 'succeeded', 'reads still work');
    t.equal(await agent.output(kept), 'keep-me\n');
    t.match((await agent.request('GET', '/metrics')).text, /outpost_agent_jobs_rejected_disk_low_total 1\n/);

    // The running job ends on the full disk: its end is still known.
    await writeFile(go, '');
    t.equal((await agent.waitDone(running)).state, 'succeeded');

    // Without the floor, the submission reaches the journal, which the full disk refuses: that request
    // fails with its own code, the status says why, and no partial line is left behind.
    await setConfig(agent, { minFreeBytes: 0 });
    const reloaded = agent.log.length;
    agent.child.kill('SIGHUP');
    await waitFor(() => /reloaded/.test(agent.log.slice(reloaded)), 10_000, 'the reload');
    const before = await journalLines(agent.dataDir);
    const full = await agent.request('POST', '/v1/jobs', { command: 'true', env: { BIG: 'x'.repeat(64 * 1024) } });
    t.equal(full.status, 507, full.text);
    t.equal(full.json().error?.code, 'AGENT_STORE_FULL');
    t.equal((await status()).store.lastError?.code, 'AGENT_STORE_FULL');
    t.match(agent.log, /AGENT_STORE_FULL/, 'the log says why');
    t.same(await journalLines(agent.dataDir), before, 'the journal holds exactly what it held');

    // A crash and a start on the still-full disk: every record is there, and the floor holds again.
    await setConfig(agent, { minFreeBytes: 2 * 1024 * 1024 });
    await agent.kill('SIGKILL');
    await agent.restart();
    t.equal((await agent.request('POST', '/v1/jobs', { command: 'true' })).status, 507);
    for (const [id, state] of [[kept, 'succeeded'], [filler, 'succeeded'], [running, 'succeeded']] as const) {
      t.equal((await agent.request('GET', `/v1/jobs/${id}`)).json().state, state, `job ${id} after the restart`);
    }
    t.equal((await agent.request('GET', `/v1/jobs/${filler}`)).json().outputTruncated, true);
    t.equal(((await agent.request('GET', '/v1/jobs')).json().jobs as unknown[]).length, 3, 'the refused submission left no record');

    // Space comes back: jobs are accepted again, and the status error clears with the next write.
    await unlink(join(agent.dataDir, 'jobs', filler, 'output'));
    t.equal((await status()).disk.ok, true);
    const again = await agent.submit({ command: 'echo back' });
    t.equal((await agent.waitDone(again)).state, 'succeeded');
    t.equal(await agent.output(again), 'back\n');
    t.equal((await status()).store.lastError, null);
    await journalLines(agent.dataDir);
  });

  t.test('queued jobs wait while the disk is below the floor and start by themselves once space is back', async (t) => {
    const dir = await smallDisk(t);
    const agent = await startAgentProcess(t, { dir, config: { minFreeBytes: 2 * 1024 * 1024, maxConcurrentJobs: 1 } });
    const go = join(dir, 'go');
    const first = await agent.submit({ command: `while [ ! -e ${go} ]; do sleep 0.05; done` });
    const queued = [await agent.submit({ command: 'echo ran' }), await agent.submit({ command: 'echo ran' })];
    // The disk fills from outside while they wait; the slot frees: started now, they could not even
    // record their exit, so they must stay queued.
    const fill = join(agent.dataDir, 'fill');
    execFileSync('sh', ['-c', `head -c 16000000 /dev/zero > ${fill} 2>/dev/null; true`]);
    await writeFile(go, '');
    t.equal((await agent.waitDone(first)).state, 'succeeded');
    await waitFor(() => /queued jobs wait: dataDir is below minFreeBytes/.test(agent.log), 10_000, 'the held queue');
    for (const id of queued) t.equal((await agent.request('GET', `/v1/jobs/${id}`)).json().state, 'queued');
    // Space comes back and nothing else happens: the queue moves on by itself.
    await unlink(fill);
    for (const id of queued) {
      t.equal((await agent.waitDone(id, 30_000)).state, 'succeeded', `queued job ${id}`);
      t.equal(await agent.output(id), 'ran\n');
    }
    t.match(agent.log, /queued jobs start again/);
  });
}
