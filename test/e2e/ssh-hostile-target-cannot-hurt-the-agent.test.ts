/**
 * A hostile or broken SSH target cannot hurt the agent: a "launcher" that announces a huge output frame
 * and streams garbage gets its channel closed and the job an honest error while the agent's memory and
 * event loop stay bounded (real sshd, the target's perl replaced by test/fixtures/hostile-launcher.sh);
 * a server that drops the connection at every session request is redialled with backoff and given up on
 * with AGENT_SSH_UNREACHABLE (an in-process ssh2 server, speaking real SSH over TCP).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { tempDir } from '../fixtures/cli.js';
import { captureLogger, createSshUser, sshdSkipReason, startSshd, staticCredentials } from '../fixtures/sshd.js';
import { createSshExecutor } from '../../agent/executors/ssh/index.js';
import { SshPool } from '../../agent/executors/ssh/connection-pool.js';
import { createHostKeyPolicy } from '../../agent/executors/ssh/host-key.js';

/** Settles with the promise's outcome, or 'pending' after `ms` (the old code never settled). */
function within<T>(p: Promise<T>, ms: number): Promise<{ ok: T } | { err: unknown } | 'pending'> {
  return Promise.race([p.then((ok) => ({ ok }), (err: unknown) => ({ err })), new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms).unref())]);
}

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  t.test('a launcher sending a bogus frame header: channel closed, honest error, bounded memory and event loop', async (t) => {
    const dir = await tempDir(t, 'ot-ssh-hostile-');
    const sshd = await startSshd(t);
    const login = await createSshUser(t, 'hostile', dir);
    // The process server's "perl", readable and runnable by the login user.
    const fake = join('/tmp', `ot-hostile-launcher-${process.pid}.sh`);
    await copyFile(new URL('../fixtures/hostile-launcher.sh', import.meta.url), fake);
    t.teardown(() => import('node:fs/promises').then((fs) => fs.rm(fake, { force: true })));
    const { logger, text } = captureLogger();
    const ssh = createSshExecutor(
      { name: 'hostile', remoteHostName: sshd.host, port: sshd.port, hostKey: sshd.fingerprint, credentialKey: 'key', interpreterWhitelist: [] },
      { credentials: staticCredentials({ key: { user: login.name, password: login.password } }), logger, dataDir: dir, remotePerl: fake },
    );
    t.teardown(() => ssh.close());
    (globalThis as { gc?: () => void }).gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let lagMax = 0;
    let last = Date.now();
    const sampler = setInterval(() => {
      const now = Date.now();
      lagMax = Math.max(lagMax, now - last - 20);
      last = now;
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 20);
    t.teardown(() => clearInterval(sampler));
    const id = `hostile-${process.pid}`;
    const outcome = await within(ssh.start({ id, kind: 'command', command: 'echo hi' }, { dir, output: join(dir, `${id}.out`) }), 60_000);
    clearInterval(sampler);
    t.not(outcome, 'pending', 'the start settles');
    t.match(outcome, { err: { code: 'AGENT_SSH_LAUNCHER_PROTOCOL', message: /output frame/ } });
    const grewMiB = (rssPeak - rssBefore) / 1024 / 1024;
    t.ok(grewMiB < 32, `resident memory grew ${grewMiB.toFixed(1)} MiB while the target sent 64 MiB of garbage`);
    t.ok(lagMax < 2000, `event loop lag at most ${lagMax} ms`);
    t.match(text(), /ssh launcher protocol error/);
  });

  t.test('a server that drops the connection at every session request: backoff, then AGENT_SSH_UNREACHABLE', async (t) => {
    const keys = ssh2.utils.generateKeyPairSync('ed25519');
    const parsed = ssh2.utils.parseKey(keys.public);
    if (parsed instanceof Error) throw parsed;
    const fingerprint = `SHA256:${createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
    let connections = 0;
    const server = new ssh2.Server({ hostKeys: [keys.private] }, (client) => {
      connections++;
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => ctx.accept());
      client.on('ready', () => {
        // What sshd does with a request it cannot take (a command over its packet limit): drop the link.
        client.on('session', () => client.end());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const { logger } = captureLogger();
    const pool = new SshPool({
      name: 'dropper',
      host: '127.0.0.1',
      port,
      hostKeys: createHostKeyPolicy({ name: 'dropper', remoteHostName: '127.0.0.1', port, hostKey: fingerprint }),
      login: async () => ({ username: 'x', password: 'y' }),
      maxSessions: 10,
      maxConnections: 2,
      logger,
      onConnect: () => undefined,
      onError: () => undefined,
      backoff: { baseMs: 100, capMs: 400, attempts: 4 },
    });
    t.teardown(() => pool.close());
    const outcome = await within(pool.exec('true'), 30_000);
    t.not(outcome, 'pending', 'the exec settles');
    t.match(outcome, { err: { code: 'AGENT_SSH_UNREACHABLE', message: /closed the connection 5 times/ } });
    t.equal(connections, 5, 'one dial and four redials, not a redial loop');
  });
}
