import t from 'tap';
import { readFile, stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, withFileLock } from '../../core/fs-atomic.js';
import { tempDir } from '../fixtures/cli.js';

t.test('writeFileAtomic writes 0600 by default and leaves no temporary file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'index.json');
  await writeFileAtomic(file, '{"a":1}');
  await writeFileAtomic(file, '{"a":2}');
  t.equal(await readFile(file, 'utf8'), '{"a":2}');
  t.equal((await stat(file)).mode & 0o777, 0o600);
  t.same(await readdir(dir), ['index.json']);
});

t.test('withFileLock serialises concurrent read-modify-write cycles', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'counter');
  await writeFileAtomic(file, '0');
  const bump = () =>
    withFileLock(file, async () => {
      const n = Number(await readFile(file, 'utf8'));
      await new Promise((r) => setTimeout(r, 2));
      await writeFileAtomic(file, String(n + 1), { durable: false });
    });
  await Promise.all(Array.from({ length: 20 }, bump));
  t.equal(await readFile(file, 'utf8'), '20', 'no update was lost');
});
