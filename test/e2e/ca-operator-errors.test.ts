import t from 'tap';
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { runOutpost } from '../fixtures/cli.js';
import { ca, initStore, CA_PASSWORD } from '../fixtures/ca-cli.js';

t.test('operator errors: one line with a code, a non-zero exit, a stack only with --debug', async (t) => {
  const { dir, work } = await initStore(t);
  const wrong = await runOutpost(['ca', 'issue', 'connector', '--name', 'm', '--ca-dir', dir], { env: { OUTPOST_CA_PASSWORD: 'not the passphrase' } });
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /^error CA_BAD_PASSPHRASE: /);
  t.notMatch(wrong.stderr, /\n\s+at /, 'no stack trace');
  const debug = await runOutpost(['--debug', 'ca', 'issue', 'connector', '--name', 'm', '--ca-dir', dir], { env: { OUTPOST_CA_PASSWORD: 'not the passphrase' } });
  t.match(debug.stderr, /\n\s+at /, 'stack trace with --debug');

  const pwFile = join(work, 'pw');
  await writeFile(pwFile, `${CA_PASSWORD}\n`, { mode: 0o600 });
  const fromFile = await runOutpost(['ca', 'issue', 'connector', '--name', 'm', '--key', 'rsa-2048', '--ca-dir', dir, '--password-file', pwFile], { env: { OUTPOST_CA_PASSWORD: '' } });
  t.equal(fromFile.code, 0, `--password-file works: ${fromFile.stderr}`);

  const env = { ...process.env };
  delete env.OUTPOST_CA_PASSWORD;
  const none = await runOutpost(['ca', 'crl', '--ca-dir', dir], { env });
  t.equal(none.code, 1);
  t.match(none.stderr, /CORE_SECRET_UNAVAILABLE: .*OUTPOST_CA_PASSWORD/, 'no TTY, no file, no env: says how to give it');

  t.equal((await ca(dir, ['crl', '--password-file', join(work, 'no-such-file')])).errorCode, 'CA_INPUT_UNREADABLE');
  t.equal((await ca(join(work, 'nowhere'), ['list'])).errorCode, 'CA_STORE_NOT_FOUND');
  await writeFile(join(dir, 'index.json'), '{"version":1,', { mode: 0o600 });
  t.equal((await ca(dir, ['list'])).errorCode, 'CA_STORE_CORRUPT');
  await chmod(dir, 0o755);
  t.equal((await ca(dir, ['list'])).errorCode, 'CA_STORE_INSECURE');
});

