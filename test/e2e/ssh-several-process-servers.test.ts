/** Several process servers on different loopback addresses, each its own sshd, used side by side. */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { captureLogger, createSshUser, sshdSkipReason, startSshd, staticCredentials } from '../fixtures/sshd.js';
import { createSshExecutor } from '../../agent/executors/ssh/index.js';

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-multi-');
  const user = await createSshUser(t, 'multi', dir);
  const credentials = staticCredentials({ key: { user: user.name, privateKey: user.privateKey, passphrase: user.passphrase } });
  const { logger, text: logText } = captureLogger();
  const hosts = ['127.0.0.2', '127.0.0.3'];
  const servers = await Promise.all(hosts.map((host) => startSshd(t, { host })));
  const executors = servers.map((s, i) =>
    createSshExecutor(
      { name: `srv${i}`, remoteHostName: s.host, port: s.port, hostKey: s.fingerprint, credentialKey: 'key', interpreterWhitelist: [] },
      { credentials, logger, dataDir: dir },
    ),
  );
  t.teardown(() => Promise.all(executors.map((e) => e.close())));

  t.test('each job runs on the host of its process server and says so', async (t) => {
    const runs = await Promise.all(
      executors.flatMap((e, i) =>
        [0, 1, 2].map(async (k) => {
          const id = `multi-${process.pid}-${i}-${k}`;
          const output = join(dir, `${id}.out`);
          // SSH_CONNECTION's third field is the address the target's sshd was reached on.
          const exec = await e.start({ id, kind: 'command', command: 'echo "$SSH_CONNECTION" | cut -d" " -f3' }, { dir, output });
          return { i, exit: await exec.done, text: (await readFile(output, 'utf8')).trim() };
        }),
      ),
    );
    for (const r of runs) {
      t.equal(r.text, hosts[r.i], `job ran on ${hosts[r.i]}`);
      t.match(r.exit, { exitCode: 0, ranOn: { host: hosts[r.i], user: user.name } });
    }
    t.same(executors.map((e) => e.status().reachable), [true, true]);
    t.same(executors.map((e) => e.status().host), hosts);
  });

  t.test('a target with a lower MaxSessions than configured: channels queue instead of failing', async (t) => {
    const tight = await startSshd(t, { host: '127.0.0.4', maxSessions: 2 });
    const e = createSshExecutor(
      { name: 'tight', remoteHostName: tight.host, port: tight.port, hostKey: tight.fingerprint, credentialKey: 'key', interpreterWhitelist: [], maxSessions: 10, maxConnections: 1 },
      // The launcher needs one session however many jobs run; the per-job wrapper needs one per job.
      { credentials, logger, dataDir: dir, remotePerl: null },
    );
    t.teardown(() => e.close());
    const runs = await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const id = `tight-${process.pid}-${Date.now().toString(36)}-${k}`;
        const output = join(dir, `${id}.out`);
        const exec = await e.start({ id, kind: 'command', command: `sleep 0.3; echo ${k}` }, { dir, output });
        return { k, exit: await exec.done, text: await readFile(output, 'utf8') };
      }),
    );
    for (const r of runs) {
      t.equal(r.exit.exitCode, 0);
      t.equal(r.text, `${r.k}\n`);
    }
    t.match(logText(), /ssh session limit reached/, 'sshd refused a session and the executor adapted');
  });

}
