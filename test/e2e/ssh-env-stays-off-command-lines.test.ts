/**
 * A job's environment never travels on a command line on the target, where `ps` shows it to every user:
 * checked in /proc/<pid>/cmdline of every process while the job runs, for the launcher and for the
 * per-job exec wrapper (the path targets without perl and big requests take), run as the login user and
 * through sudo.
 */
import t from 'tap';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import { allowSudo, captureLogger, createSshUser, readOutput, sshdSkipReason, startSshd, staticCredentials, waitFor } from '../fixtures/sshd.js';
import { createSshExecutor } from '../../agent/executors/ssh/index.js';

async function allCommandLines(): Promise<string> {
  const lines: string[] = [];
  for (const pid of await readdir('/proc')) if (/^\d+$/.test(pid)) lines.push(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''));
  return lines.join('\n');
}

const skip = sshdSkipReason();
if (skip) t.test(`real sshd: ${skip}`, { skip }, () => undefined);
else {
  const dir = await tempDir(t, 'ot-ssh-envargv-');
  const sshd = await startSshd(t);
  const login = await createSshUser(t, 'envargv', dir);
  const batch = await createSshUser(t, 'envargv-b', dir);
  await allowSudo(t, login.name, batch.name);
  const credentials = staticCredentials({ key: { user: login.name, password: login.password } });
  const server = { name: 'envargv', remoteHostName: sshd.host, port: sshd.port, hostKey: sshd.fingerprint, credentialKey: 'key', interpreterWhitelist: [] };
  let n = 0;
  for (const [how, remotePerl] of [
    ['the exec wrapper', null],
    ['the launcher', 'perl'],
  ] as const) {
    for (const runAs of [undefined, batch.name]) {
      t.test(`env values are on no command line: ${how}${runAs ? ', through sudo' : ''}`, async (t) => {
        const { logger } = captureLogger();
        const ssh = createSshExecutor(server, { credentials, logger, dataDir: dir, remotePerl });
        t.teardown(() => ssh.close());
        const value = `v4lue-${process.pid}-${++n}-${Math.random().toString(36).slice(2)}`;
        const gate = join('/tmp', `ot-envargv-gate-${process.pid}-${n}`);
        t.teardown(() => rm(gate, { force: true }));
        const id = `envargv-${process.pid}-${n}`;
        const output = join(dir, `${id}.out`);
        const exec = await ssh.start(
          { id, kind: 'command', command: 'echo "[$TOKEN]"; while [ ! -e "$GATE" ]; do sleep 0.1; done', env: { TOKEN: value, GATE: gate }, ...(runAs ? { runAs } : {}) },
          { dir, output },
        );
        await waitFor(async () => (await readOutput(output)).includes('['), 30_000, 'job running');
        t.notOk((await allCommandLines()).includes(value), 'the value is on no command line while the job runs');
        await writeFile(gate, '');
        t.match(await exec.done, { reason: 'exited', exitCode: 0 });
        t.equal(await readOutput(output), `[${value}]\n`, 'and the job got it');
      });
    }
  }
}
