import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cliPath, tempDir } from '../fixtures/cli.js';
import { ca } from '../fixtures/ca-cli.js';

/**
 * The hidden prompt, through a real pseudo-terminal (util-linux `script`): the passphrase is asked for
 * twice for a new CA and never echoed.
 */
t.test('ca init asks for the passphrase on a terminal, twice, without echo', async (t) => {
  const work = await tempDir(t);
  const dir = join(work, 'store');
  const secret = 'typed-at-the-terminal';
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.OUTPOST_CA_PASSWORD;
  const cmd = [process.execPath, cliPath, 'ca', 'init', '--key', 'rsa-2048', '--ca-dir', dir].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  const waitFor = (re: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} in: ${out}`)), 30_000);
      const check = (): void => {
        if (re.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', check);
      check();
    });
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await waitFor(/CA passphrase: /);
  child.stdin.write(`${secret}\r`);
  await waitFor(/Repeat to confirm: /);
  child.stdin.write(`${secret}\r`);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 0, out);
  t.match(out, /created root certificate/);
  t.notMatch(out, new RegExp(secret), 'the passphrase is never echoed');
  const crl = await ca(dir, ['crl'], { OUTPOST_CA_PASSWORD: secret });
  t.equal(crl.code, 0, 'the typed passphrase opens the root key');
});
