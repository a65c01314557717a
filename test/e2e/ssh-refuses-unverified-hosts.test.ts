/**
 * Host keys are always verified: a wrong pin or a host missing from known_hosts refuses the job with its
 * own code and nothing runs on the target. Unreachable hosts have their own code and show in status().
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { captureLogger, createSshUser, freePort, sshdSkipReason, startSshd, staticCredentials } from '../fixtures/sshd.js';
import { createSshExecutor, type ProcessServerConfig } from '../../agent/executors/ssh/index.js';

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-hk-');
  const sshd = await startSshd(t);
  const other = await startSshd(t);
  const user = await createSshUser(t, 'hostkey', dir);
  const { logger } = captureLogger();
  const credentials = staticCredentials({ key: { user: user.name, privateKey: user.privateKey, passphrase: user.passphrase } });
  const base = { name: 'hk', remoteHostName: sshd.host, port: sshd.port, credentialKey: 'key', interpreterWhitelist: [] };
  const make = (over: Partial<ProcessServerConfig>) => {
    const e = createSshExecutor({ ...base, ...over } as ProcessServerConfig, { credentials, logger, dataDir: dir });
    t.teardown(() => e.close());
    return e;
  };
  const marker = join(user.home, 'ran');
  const job = (id: string) => ({ id, kind: 'argv' as const, argv: ['touch', marker] });
  const paths = (id: string) => ({ dir, output: join(dir, `${id}.out`) });

  t.test('the pinned fingerprint or a known_hosts entry lets jobs run', async (t) => {
    const pinned = await make({ hostKey: sshd.fingerprint }).start(job('hk-ok-1'), paths('hk-ok-1'));
    t.equal((await pinned.done).exitCode, 0);
    const known = await make({ knownHostsFile: sshd.knownHostsFile }).start(job('hk-ok-2'), paths('hk-ok-2'));
    t.equal((await known.done).exitCode, 0);
    t.ok(existsSync(marker));
  });

  t.test('another server\'s key refuses with AGENT_SSH_HOST_KEY_MISMATCH and runs nothing', async (t) => {
    const before = existsSync(join(user.home, '.outpost', 'jobs', 'hk-bad-1.out'));
    const e = make({ hostKey: other.fingerprint });
    await t.rejects(e.start(job('hk-bad-1'), paths('hk-bad-1')), { code: 'AGENT_SSH_HOST_KEY_MISMATCH', message: new RegExp(sshd.fingerprint.replace(/[+/]/g, '\\$&')) });
    t.equal(before, false);
    t.notOk(existsSync(join(user.home, '.outpost', 'jobs', 'hk-bad-1.out')), 'no job files on the target');
    t.match(e.status(), { reachable: false, lastError: { code: 'AGENT_SSH_HOST_KEY_MISMATCH' } });
    // known_hosts naming this host with the other server's key is a mismatch too.
    const wrongFile = join(dir, 'wrong_known_hosts');
    await writeFile(wrongFile, (await readFile(other.knownHostsFile, 'utf8')).replace(`]:${other.port} `, `]:${sshd.port} `));
    await t.rejects(make({ knownHostsFile: wrongFile }).start(job('hk-bad-2'), paths('hk-bad-2')), { code: 'AGENT_SSH_HOST_KEY_MISMATCH' });
    t.notOk(existsSync(join(user.home, '.outpost', 'jobs', 'hk-bad-2.out')));
  });

  t.test('a host missing from known_hosts refuses with AGENT_SSH_HOST_KEY_UNKNOWN', async (t) => {
    await t.rejects(make({ knownHostsFile: other.knownHostsFile }).start(job('hk-bad-3'), paths('hk-bad-3')), { code: 'AGENT_SSH_HOST_KEY_UNKNOWN' });
    t.notOk(existsSync(join(user.home, '.outpost', 'jobs', 'hk-bad-3.out')));
  });

  t.test('an entry without a pin cannot be created at all', async (t) => {
    t.throws(() => createSshExecutor(base, { credentials, logger, dataDir: dir }), { code: 'AGENT_SSH_CONFIG_INVALID' });
  });

  t.test('a closed port is AGENT_SSH_HOST_UNREACHABLE and shows in status()', async (t) => {
    const port = await freePort('127.0.0.1');
    const e = make({ port, hostKey: sshd.fingerprint });
    t.equal(e.status().reachable, null, 'unknown before the first attempt');
    await t.rejects(e.start(job('hk-bad-4'), paths('hk-bad-4')), { code: 'AGENT_SSH_HOST_UNREACHABLE', message: /ECONNREFUSED/ });
    t.match(e.status(), { name: 'hk', port, reachable: false, lastConnectAt: null, lastError: { code: 'AGENT_SSH_HOST_UNREACHABLE' } });
  });
}
