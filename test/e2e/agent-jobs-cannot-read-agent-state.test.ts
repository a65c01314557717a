/**
 * Jobs cannot read or write the agent's state, with real users and processes (root only). scripts/install
 * lays out agent, gateway and job users, the sudoers drop-in and agent.yaml; the agent runs as its own user
 * and jobs (with and without runAs) try to read the credential store, the journal and another job's
 * output, to append to the journal and to reach the agent's socket and API: all fail. A job user in the
 * socket's group could read other jobs' output through the API: refused under strict, shown under warn.
 * The reviewed layout (no runAs.defaultUser: jobs as the agent user) is refused at start under
 * jobIsolation: strict, and with jobIsolation: warn it starts with a warning and the same attack succeeds.
 * Start-up also refuses a dataDir or credential store others can read, and a job queued before the agent
 * was made strict fails instead of running as the agent user.
 */
import t from 'tap';
import { chmod, copyFile, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseAgentConfig } from '../../agent/config.js';
import { startAgentProcess, type RunningAgent } from '../fixtures/agent.js';
import { ensureUser } from '../fixtures/agent-users.js';
import { isRoot, repoRoot, tempDir } from '../fixtures/cli.js';
import { run } from '../fixtures/gateway-client.js';

const AGENT = 'ot-agent-iso-a';
const GW = 'ot-agent-iso-g';
const JOB = 'ot-agent-iso-j';
const install = join(repoRoot, 'scripts', 'install');
const SECRET = 'hunter2-never-readable-by-jobs';

/** The attack, as a job: each step prints its exit status; paths come through env, not shell text. */
const ATTACK = [
  'id -un',
  'cat "$D/credentials.json"; echo "read credentials: $?"',
  'cat "$D/journal.jsonl"; echo "read journal: $?"',
  'cat "$D/jobs/$VICTIM/output"; echo "read output: $?"',
  'echo forged-by-a-job >> "$D/journal.jsonl"; echo "append journal: $?"',
  'ls "$RUN"; echo "list socket dir: $?"',
  'curl -sS --unix-socket "$RUN/agent.sock" "http://agent/v1/jobs/$VICTIM/output"; echo "api: $?"',
].join('\n');

const uidOf = async (name: string): Promise<number> => Number((await run('id', ['-u', name])).stdout.trim());
const gidOf = async (name: string): Promise<number> => Number((await run('id', ['-g', name])).stdout.trim());

t.test('with the installed layout no job can read or write the agent state', { skip: !isRoot && 'needs root (creates OS users, a sudoers drop-in)' }, async (t) => {
  const root = await tempDir(t, 'outpost-iso-');
  await chmod(root, 0o755); // the service users traverse it, as they would traverse /
  const args = ['--gw-user', GW, '--agent-user', AGENT, '--job-user', JOB, '--root', root, '--bin', '/usr/local/bin/outpost', '--no-systemctl'];
  const first = await run(install, args);
  t.equal(first.code, 0, first.stderr);
  // A job user in the gateway's group could connect to the agent's socket: install takes it out again.
  t.equal((await run('gpasswd', ['-a', JOB, GW])).code, 0);
  const again = await run(install, args);
  t.equal(again.code, 0, again.stderr);
  t.notMatch(again.stdout, /created user|wrote /, 'a second run creates nothing and keeps agent.yaml');
  t.match(again.stdout, new RegExp(`removed ${JOB} from group ${GW}`));
  t.notMatch((await run('id', ['-nG', JOB])).stdout, new RegExp(`\\b(${GW}|${AGENT})\\b`), 'the job user is in neither service group');

  const agentUid = await uidOf(AGENT);
  const agentGid = await gidOf(AGENT);
  const jobUid = await uidOf(JOB);
  t.not(jobUid, agentUid);
  t.equal((await run('getent', ['passwd', JOB])).stdout.split(':')[5], '/var/lib/outpost/job-home');
  const home = await stat(join(root, 'var/lib/outpost/job-home'));
  t.same([home.uid, home.mode & 0o7777], [jobUid, 0o750], 'job home owned by the job user, 0750');

  const dropIn = join(root, 'etc/sudoers.d/outpost');
  const sudoers = await stat(dropIn);
  t.same([sudoers.uid, sudoers.mode & 0o777], [0, 0o440], 'sudoers drop-in root 0440');
  t.match(await readFile(dropIn, 'utf8'), new RegExp(`^${AGENT} ALL=\\(${JOB}\\) NOPASSWD: ALL$`, 'm'));
  t.equal((await run('visudo', ['-cf', dropIn])).code, 0, 'visudo accepts it');

  const yamlPath = join(root, 'etc/outpost/agent/agent.yaml');
  const yamlInfo = await stat(yamlPath);
  t.same([yamlInfo.uid, yamlInfo.mode & 0o777], [agentUid, 0o600], 'agent.yaml private to the agent user');
  const installed = parseAgentConfig(parse(await readFile(yamlPath, 'utf8')) as unknown, yamlPath);
  t.equal(installed.jobIsolation, 'strict');
  t.same(installed.runAs, { method: 'sudo', defaultUser: JOB, allowedUsers: [JOB] });

  // The drop-in, made live for this test under its own name.
  const live = '/etc/sudoers.d/ot-agent-iso';
  await copyFile(dropIn, live);
  await chmod(live, 0o440);
  t.teardown(() => rm(live, { force: true }));

  const dataDir = join(root, 'var/lib/outpost/agent');
  const runDir = join(root, 'run/outpost');
  const credentials = join(dataDir, 'credentials.json');
  await writeFile(credentials, JSON.stringify({ version: 1, credentials: { db: { user: 'batch', password: SECRET, createdAt: new Date().toISOString() } } }), { mode: 0o600 });
  await chown(credentials, agentUid, agentGid);
  // The fixture puts the socket (and the config it writes) in `dir`: the installed run directory.
  const { listen: _socketAsInstalled, ...asInstalled } = { ...installed, dataDir };
  const start = (config: Record<string, unknown>): Promise<RunningAgent> =>
    startAgentProcess(t, { dir: runDir, uid: agentUid, gid: agentGid, config });
  const attackEnv = (victim: string) => ({ D: dataDir, VICTIM: victim, RUN: runDir });

  let victim = '';
  t.test('strict, as installed: every attack fails with permission denied', async (t) => {
    const agent = await start(asInstalled);
    t.notMatch(agent.log, /job isolation is off/, 'no warning');
    victim = await agent.submit({ command: 'echo private-output-of-another-job', cwd: '/tmp' });
    t.equal((await agent.waitDone(victim)).state, 'succeeded');
    for (const runAs of [undefined, JOB]) {
      const id = await agent.submit({ script: ATTACK, env: attackEnv(victim), cwd: '/tmp', ...(runAs ? { runAs } : {}) });
      await agent.waitDone(id);
      const out = await agent.output(id);
      const label = runAs ? `runAs ${runAs}` : 'no runAs (runAs.defaultUser)';
      t.equal(out.split('\n')[0], JOB, `${label}: the job runs as the job user`);
      t.equal(out.match(/Permission denied/g)?.length, 5, `${label}: five refusals\n${out}`);
      for (const step of ['read credentials', 'read journal', 'read output', 'append journal', 'list socket dir', 'api']) {
        t.match(out, new RegExp(`${step}: [1-9]`), `${label}: ${step} failed`);
      }
      t.notMatch(out, SECRET);
      t.notMatch(out, /private-output-of-another-job/);
    }
    t.notMatch(await readFile(join(dataDir, 'journal.jsonl'), 'utf8'), /^forged-by-a-job$/m, 'the journal is untouched');

    const self = await agent.request('POST', '/v1/jobs', { command: 'id', runAs: AGENT });
    t.equal(self.status, 403);
    t.equal(self.json().error?.code, 'AGENT_RUNAS_NOT_ALLOWED');
    t.match(self.json().error?.message, /jobIsolation is strict: jobs never run as the agent's own user/);

    // A SIGHUP may not open what the start would have refused: the running configuration stays.
    const { defaultUser: _dropped, ...runAsWithoutDefault } = installed.runAs;
    await writeFile(agent.configPath, JSON.stringify({ ...asInstalled, listen: { socket: agent.socket }, runAs: runAsWithoutDefault }));
    const before = agent.log.length;
    agent.child.kill('SIGHUP');
    for (let i = 0; i < 400 && !/reload failed/.test(agent.log.slice(before)); i++) await new Promise((r) => setTimeout(r, 50));
    const reload = agent.log.slice(before);
    t.match(reload, /reload failed; keeping the running configuration/);
    t.match(reload, /jobIsolation is strict, but runAs\.defaultUser is not set/);
    const still = await agent.submit({ command: 'id -un', cwd: '/tmp' });
    await agent.waitDone(still);
    t.equal(await agent.output(still), `${JOB}\n`, 'jobs still run as the job user');
    await agent.kill();
  });

  // The reviewed layout: allowedUsers [job user] but no default user, so jobs without runAs run as the agent.
  const reviewed = { ...asInstalled, runAs: { method: 'sudo', allowedUsers: [JOB] } };

  t.test('strict refuses to start the reviewed layout, naming the key and the fix', async (t) => {
    const err = (await start(reviewed).then(() => null, (e: Error) => e)) as Error | null;
    t.ok(err, 'the agent did not start');
    t.match(err?.message, /AGENT_JOB_ISOLATION_UNSAFE/);
    t.match(err?.message, new RegExp(`runAs\\.defaultUser is not set, so jobs that name no runAs run as ${AGENT}`));
    t.match(err?.message, /set runAs\.defaultUser to a dedicated job user/i);
  });

  t.test('a job user in the socket\'s group could ask the agent for other jobs\' output: refused under strict', async (t) => {
    t.equal((await run('gpasswd', ['-a', JOB, GW])).code, 0);
    t.teardown(() => run('gpasswd', ['-d', JOB, GW]));
    const err = (await start(asInstalled).then(() => null, (e: Error) => e)) as Error | null;
    t.match(err?.message, new RegExp(`AGENT_JOB_ISOLATION_UNSAFE: .*runAs\\.allowedUsers\\[0\\] names ${JOB}: a member of group gid ${await gidOf(GW)} \\(listen\\.socket\\), which can reach the agent's API`));
    const agent = await start({ ...asInstalled, jobIsolation: 'warn' });
    t.match(agent.log, /job isolation is off/);
    const id = await agent.submit({ script: ATTACK, env: attackEnv(victim), cwd: '/tmp' });
    await agent.waitDone(id);
    const out = await agent.output(id);
    t.equal(out.split('\n')[0], JOB);
    t.match(out, /private-output-of-another-job\napi: 0/, 'through the API the job read another job\'s output');
    await agent.kill();
  });

  t.test('warn starts the reviewed layout with a warning, and the attack then succeeds', async (t) => {
    const agent = await start({ ...reviewed, jobIsolation: 'warn' });
    t.match(agent.log, /job isolation is off \(jobIsolation: warn\): a job running as such a user can read the credential store/);
    const id = await agent.submit({ script: ATTACK, env: attackEnv(victim), cwd: '/tmp' });
    await agent.waitDone(id);
    const out = await agent.output(id);
    t.equal(out.split('\n')[0], AGENT, 'the job ran as the agent user');
    t.match(out, SECRET, 'it read the credential store');
    t.match(out, /private-output-of-another-job/, 'and another job\'s output');
    t.match(out, /append journal: 0/, 'and appended to the journal');
    t.match(await readFile(join(dataDir, 'journal.jsonl'), 'utf8'), /^forged-by-a-job$/m);
    await agent.kill();
  });
});

t.test('start-up refuses state others can read, and a root agent that would run jobs as root', { skip: !isRoot && 'needs root' }, async (t) => {
  t.test('a dataDir open to others', async (t) => {
    const dir = await tempDir(t, 'outpost-iso-perm-');
    await mkdir(join(dir, 'data'), { mode: 0o755 });
    await chmod(join(dir, 'data'), 0o755);
    const err = (await startAgentProcess(t, { dir }).then(() => null, (e: Error) => e)) as Error | null;
    t.match(err?.message, /AGENT_DATA_DIR_INSECURE: dataDir .*\/data has mode 755: other users could read job records, output and credentials; chmod 700 it/);
  });

  t.test('a credential store open to others', async (t) => {
    const dir = await tempDir(t, 'outpost-iso-cred-');
    await mkdir(join(dir, 'data'), { mode: 0o700 });
    await writeFile(join(dir, 'data/credentials.json'), '{"version":1,"credentials":{}}', { mode: 0o644 });
    await chmod(join(dir, 'data/credentials.json'), 0o644);
    const err = (await startAgentProcess(t, { dir }).then(() => null, (e: Error) => e)) as Error | null;
    t.match(err?.message, /AGENT_CREDENTIAL_STORE_INSECURE: .*credentials\.json has mode 644 .* it must be 600 and owned by the agent user/);
  });

  t.test('a root agent (runAs.method su) with no default user: refused under strict, warned under warn', async (t) => {
    const config = { jobIsolation: 'strict', runAs: { method: 'su', allowedUsers: [] } };
    const err = (await startAgentProcess(t, { config }).then(() => null, (e: Error) => e)) as Error | null;
    t.match(err?.message, /AGENT_JOB_ISOLATION_UNSAFE: .*run as root: root, who can read every file/);
    const agent = await startAgentProcess(t, { config: { ...config, jobIsolation: 'warn' } });
    t.match(agent.log, /job isolation is off/);
  });

  t.test('a job queued before the agent was made strict does not run as the agent user after the restart', async (t) => {
    await ensureUser('ot-agent-batch');
    const agent = await startAgentProcess(t, { config: { maxConcurrentJobs: 1, runAs: { method: 'su', allowedUsers: ['ot-agent-batch'] } } });
    const blocker = await agent.submit({ argv: ['/bin/sleep', '600'] });
    const queued = await agent.submit({ argv: ['/usr/bin/id', '-un'] });
    t.equal((await agent.request('GET', `/v1/jobs/${queued}`)).json().state, 'queued');
    await agent.kill('SIGTERM');
    await writeFile(agent.configPath, stringify({
      listen: { socket: agent.socket },
      dataDir: agent.dataDir,
      maxConcurrentJobs: 1,
      jobIsolation: 'strict',
      runAs: { method: 'su', defaultUser: 'ot-agent-batch', allowedUsers: ['ot-agent-batch'] },
    }));
    await agent.restart();
    t.equal((await agent.request('POST', `/v1/jobs/${blocker}/abort`)).status, 202);
    const done = await agent.waitDone(queued);
    t.equal(done.state, 'failed');
    t.match(done.message, /would run as the agent's own user root, which jobIsolation: strict never allows/);
    t.notMatch(await agent.output(queued), /root/, 'nothing ran as root');
  });
});
