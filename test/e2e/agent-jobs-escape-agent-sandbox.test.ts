/**
 * The agent's sandbox is not the job's: with the launcher as its own service (launcherSocket), a run-as
 * job may write where its user may — its home, and a file under /etc root gave it — although the agent
 * runs confined as outpost-agent.service confines it. systemd is not PID 1 in CI, so the unit's settings
 * are reproduced with a mount namespace: ProtectSystem=full (/usr, /boot, /efi, /etc read-only),
 * ProtectHome=read-only (/home, /root, /run/user) and its CapabilityBoundingSet. The old layout (the
 * agent forks its own launcher) fails the same job.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentProcess, type RunningAgent, type Tap } from '../fixtures/agent.js';
import { ensureUser, untracked, type OsUser } from '../fixtures/agent-users.js';
import { cliPath, isRoot } from '../fixtures/cli.js';

/** The unit's read-only paths (ProtectSystem=full, ProtectHome=read-only) and capability bounding set. */
const READ_ONLY = ['/usr', '/boot', '/efi', '/etc', '/home', '/root', '/run/user'];
const CAPS = '-all,+setuid,+setgid,+audit_write,+dac_read_search,+kill';

/** Execs its arguments as `user` in a new mount namespace shaped like outpost-agent.service. */
function unitSandbox(user: OsUser): string[] {
  const mounts = READ_ONLY.map((d) => `if [ -d ${d} ]; then mount --bind ${d} ${d} && mount -o remount,bind,ro ${d} || exit 1; fi`).join('; ');
  const drop = `exec setpriv --reuid=${user.uid} --regid=${user.gid} --init-groups --bounding-set=${CAPS} -- "$@"`;
  return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `${mounts}; ${drop}`, 'sandbox'];
}

if (!isRoot) {
  t.test('jobs escape the agent sandbox', { skip: 'needs root (users, sudoers, mount namespaces)' }, () => undefined);
} else {
  const svc = await ensureUser('ot-agent-sbsvc');
  const batch = await ensureUser('ot-agent-sbbatch');
  const sudoers = '/etc/sudoers.d/ot-agent-sandbox-test';
  await writeFile(sudoers, 'ot-agent-sbsvc ALL=(ot-agent-sbbatch) NOPASSWD: ALL\n', { mode: 0o440 });
  // A file under /etc that root gave the job's user.
  const etcFile = `/etc/ot-agent-sandbox-${process.pid}`;
  await writeFile(etcFile, '', { mode: 0o644 });
  await chown(etcFile, batch.uid, batch.gid);
  const homeFile = join(batch.home, 'sandbox-probe');
  t.teardown(async () => {
    await rm(sudoers, { force: true });
    await rm(etcFile, { force: true });
    await rm(homeFile, { force: true });
  });
  const job = { command: `echo home > "$HOME/sandbox-probe" && echo etc > ${etcFile}`, runAs: batch.name };

  async function agentDir(t: Tap): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-agent-sandbox-'));
    await chown(dir, svc.uid, svc.gid);
    await chmod(dir, 0o700);
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** The launcher service as svc, outside the agent's namespace, as outpost-launcher.service starts it;
   * resolves once it listens. */
  async function startLauncherService(t: Tap, configPath: string, socket: string): Promise<ChildProcess> {
    const args = [cliPath, 'agent', 'launcher', '--config', configPath, '--launcher-socket', socket];
    const child = spawn(...untracked([process.execPath, ...args]), { uid: svc.uid, gid: svc.gid, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`launcher did not start: ${out}`)), 20_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('outpost launcher listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`launcher exited with ${code}: ${out}`)));
    });
    return child;
  }

  /** Config for the launcher service: it reads only perl from it (the socket comes on its command line). */
  async function launcherConfig(dir: string): Promise<string> {
    const configPath = join(dir, 'launcher.yaml');
    await writeFile(configPath, `listen: {socket: ${join(dir, 'unused.sock')}}\ndataDir: ${join(dir, 'unused')}\n`);
    return configPath;
  }

  function sandboxedAgent(t: Tap, dir: string, config: Record<string, unknown>): Promise<RunningAgent> {
    return startAgentProcess(t, { dir, wrap: unitSandbox(svc), config: { runAs: { allowedUsers: [batch.name] }, ...config } });
  }

  /** The sandbox is in force: the agent process sees /etc read-only. */
  async function etcReadOnlyFor(pid: number | undefined): Promise<boolean> {
    return /^\S+ \S+ \S+ \S+ \/etc ro,/m.test(await readFile(`/proc/${pid}/mountinfo`, 'utf8'));
  }

  t.test('ok: with the launcher service, a run-as job writes its home and its /etc file', async (t) => {
    await writeFile(etcFile, '');
    await rm(homeFile, { force: true });
    const dir = await agentDir(t);
    const launcherSocket = join(dir, 'launcher.sock');
    await startLauncherService(t, await launcherConfig(dir), launcherSocket);
    t.equal((await stat(launcherSocket)).mode & 0o777, 0o600, 'only the agent user may order jobs');
    const agent = await sandboxedAgent(t, dir, { launcherSocket });
    t.ok(await etcReadOnlyFor(agent.child.pid), 'the agent itself runs with /etc read-only');
    const id = await agent.submit(job);
    const done = await agent.waitDone(id);
    t.equal(done.state, 'succeeded', await agent.output(id));
    t.equal(await readFile(homeFile, 'utf8'), 'home\n');
    t.equal(await readFile(etcFile, 'utf8'), 'etc\n');
  });

  t.test('fail: with the launcher inside the agent (old layout), the same job cannot write', async (t) => {
    await writeFile(etcFile, '');
    await rm(homeFile, { force: true });
    const dir = await agentDir(t);
    const agent = await sandboxedAgent(t, dir, {});
    t.ok(await etcReadOnlyFor(agent.child.pid), 'the agent itself runs with /etc read-only');
    const id = await agent.submit(job);
    const done = await agent.waitDone(id);
    t.equal(done.state, 'failed');
    t.match(await agent.output(id), /Read-only file system/);
    t.equal(await readFile(etcFile, 'utf8'), '');
  });
}

t.test('the launcher service restarts: the agent follows its running job by pid and reconnects for new ones', { skip: !isRoot && 'needs root' }, async (t) => {
  const svc = await ensureUser('ot-agent-sbsvc');
  const dir = await mkdtemp(join(tmpdir(), 'outpost-agent-sandbox-'));
  await chown(dir, svc.uid, svc.gid);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const launcherSocket = join(dir, 'launcher.sock');
  const configPath = join(dir, 'launcher.yaml');
  await writeFile(configPath, `listen: {socket: ${join(dir, 'unused.sock')}}\ndataDir: ${join(dir, 'unused')}\n`);
  const start = (): ChildProcess =>
    spawn(...untracked([process.execPath, cliPath, 'agent', 'launcher', '--config', configPath, '--launcher-socket', launcherSocket]), { uid: svc.uid, gid: svc.gid, stdio: 'ignore' });
  let launcher = start();
  t.teardown(() => {
    if (launcher.exitCode === null) launcher.kill('SIGTERM');
  });
  const agent = await startAgentProcess(t, { dir, uid: svc.uid, gid: svc.gid, config: { launcherSocket } });
  const status = async (): Promise<{ running: boolean }> => (await agent.request('GET', '/v1/status')).json().launcher as { running: boolean };
  const until = async (what: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 600 && !(await what()); i++) await new Promise((r) => setTimeout(r, 100));
  };
  await until(async () => (await status()).running);
  const id = await agent.submit({ command: 'sleep 2; echo finished' });
  await new Promise<void>((resolve) => {
    launcher.once('exit', () => resolve());
    launcher.kill('SIGTERM');
  });
  await until(async () => !(await status()).running);
  t.equal((await status()).running, false, 'the agent sees the launcher gone');
  t.equal((await agent.request('POST', '/v1/jobs', { command: 'true' })).json().error?.code, 'AGENT_LAUNCHER_UNAVAILABLE');
  launcher = start();
  const done = await agent.waitDone(id);
  t.equal(done.state, 'succeeded', 'the job outlived the launcher and its end was seen');
  t.equal(await agent.output(id), 'finished\n');
  await until(async () => (await status()).running);
  const next = await agent.submit({ command: 'echo again' });
  t.equal((await agent.waitDone(next)).state, 'succeeded', 'new jobs run once the launcher is back');
  t.match(agent.log, /cannot connect to the job launcher|closed the connection/, 'the outage is logged');
});
