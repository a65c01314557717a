/**
 * Run-as with real OS users (created here, root only): sudo -n -u to an allowed user with env, cwd,
 * scripts and the login profile; users outside runAs.allowedUsers refused; sudo's own refusal reported
 * with its distinct code by an agent that runs as an unprivileged user; the su method.
 */
import t from 'tap';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent.js';
import { ensureUser } from '../fixtures/agent-users.js';
import { isRoot } from '../fixtures/cli.js';

if (!isRoot) {
  t.test('run-as with real users', { skip: 'needs root (creates OS users and a sudoers rule)' }, () => undefined);
} else {
  const batch = await ensureUser('ot-agent-batch');
  const svc = await ensureUser('ot-agent-svc');
  await writeFile(join(batch.home, '.profile'), 'export FROM_PROFILE=loaded\n', { mode: 0o644 });
  await chown(join(batch.home, '.profile'), batch.uid, batch.gid);

  t.test('as root: jobs run as an allowed user, with env, cwd and scripts; others are refused', async (t) => {
    const agent = await startAgentProcess(t, { config: { runAs: { allowedUsers: ['ot-agent-batch'] } } });
    const id = await agent.submit({ command: 'id -un; echo "$FOO"; pwd; echo "[$FROM_PROFILE]"', runAs: 'ot-agent-batch', env: { FOO: 'a b $c' } });
    t.equal((await agent.waitDone(id)).state, 'succeeded');
    t.equal(await agent.output(id), `ot-agent-batch\na b $c\n${batch.home}\n[]\n`);

    const script = await agent.submit({ script: 'id -un; printf "%s|" "$@"; echo', args: ['x y', '$(id)'], runAs: 'ot-agent-batch', cwd: '/tmp' });
    t.equal((await agent.waitDone(script)).state, 'succeeded');
    t.equal(await agent.output(script), 'ot-agent-batch\nx y|$(id)|\n');

    const login = await agent.submit({ command: 'echo "[$FROM_PROFILE]"', runAs: 'ot-agent-batch', loginProfile: true });
    await agent.waitDone(login);
    t.equal(await agent.output(login), '[loaded]\n', 'the login profile was loaded');

    const refused = await agent.request('POST', '/v1/jobs', { command: 'id', runAs: 'ot-agent-svc' });
    t.equal(refused.status, 403);
    t.equal(refused.json().error?.code, 'AGENT_RUNAS_NOT_ALLOWED');
    const rootRefused = await agent.request('POST', '/v1/jobs', { command: 'id', runAs: 'daemon' });
    t.equal(rootRefused.json().error?.code, 'AGENT_RUNAS_NOT_ALLOWED');
  });

  t.test('an unprivileged agent: sudo refusal has its own error; with a sudoers rule it works', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-agent-runas-'));
    await chown(dir, svc.uid, svc.gid);
    const sudoers = '/etc/sudoers.d/ot-agent-test';
    t.teardown(async () => {
      await rm(sudoers, { force: true });
    });
    const agent = await startAgentProcess(t, { dir, uid: svc.uid, gid: svc.gid, config: { runAs: { allowedUsers: ['ot-agent-batch'] } } });
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const mine = await agent.submit({ command: 'id -un' });
    await agent.waitDone(mine);
    t.equal(await agent.output(mine), 'ot-agent-svc\n', 'without runAs, jobs run as the agent user');

    const refused = await agent.request('POST', '/v1/jobs', { command: 'id -un', runAs: 'ot-agent-batch' });
    t.equal(refused.status, 403);
    t.equal(refused.json().error?.code, 'AGENT_RUNAS_REFUSED');
    t.match(refused.json().error?.message, /sudo refused to run jobs as ot-agent-batch/);

    await writeFile(sudoers, 'ot-agent-svc ALL=(ot-agent-batch) NOPASSWD: ALL\n', { mode: 0o440 });
    const ok = await agent.submit({ command: 'id -un', runAs: 'ot-agent-batch' });
    t.equal((await agent.waitDone(ok)).state, 'succeeded');
    t.equal(await agent.output(ok), 'ot-agent-batch\n');
  });

  t.test('the su method switches users too (as root)', async (t) => {
    const agent = await startAgentProcess(t, { config: { runAs: { method: 'su', allowedUsers: ['ot-agent-batch'] } } });
    const id = await agent.submit({ argv: ['/usr/bin/id', '-un'], runAs: 'ot-agent-batch', env: { X: '1' } });
    t.equal((await agent.waitDone(id)).state, 'succeeded');
    t.equal(await agent.output(id), 'ot-agent-batch\n');
    const login = await agent.submit({ command: 'echo "[$FROM_PROFILE]"', runAs: 'ot-agent-batch', loginProfile: true });
    await agent.waitDone(login);
    t.equal(await agent.output(login), '[loaded]\n');
  });
}
