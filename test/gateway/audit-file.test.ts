import t, { type Test } from 'tap';
import { mkdtemp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDecision, openAuditFile, type AuditReport, type FileIdentity } from '../../gateway/audit-file.js';
import { openAuditLog, type AuditEntry } from '../../gateway/audit.js';

const A: FileIdentity = { dev: 1, ino: 10 };
const B: FileIdentity = { dev: 1, ino: 11 };

async function dir(t: Test): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'outpost-audit-file-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

function recorder(): AuditReport & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m, meta) => void lines.push(`info ${m} ${JSON.stringify(meta)}`), error: (m, meta) => void lines.push(`error ${m} ${JSON.stringify(meta)}`) };
}

const read = (p: string): Promise<string> => readFile(p, 'utf8').catch(() => '');

t.test('when a check reopens the file', async (t) => {
  t.equal(checkDecision(A, false, A, false), 'keep', 'the same file at the path');
  t.equal(checkDecision(A, false, { dev: 2, ino: 10 }, false), 'reopen', 'same inode number on another device is another file');
  t.equal(checkDecision(A, false, B, false), 'reopen', 'another file at the path (logrotate create): at once');
  t.equal(checkDecision(A, false, 'missing', false), 'wait', 'path gone: the rotator may be about to create it');
  t.equal(checkDecision(A, false, 'missing', true), 'reopen', 'still gone a check later: the gateway creates it');
  t.equal(checkDecision(A, false, 'unreadable', true), 'keep', 'path unreadable: keep writing where it works');
  t.equal(checkDecision(undefined, false, 'missing', false), 'reopen', 'nothing open: try at every check');
  t.equal(checkDecision(A, true, A, false), 'reopen', 'a file that failed a write: open it again');
  t.equal(checkDecision(undefined, false, 'unreadable', false), 'keep', 'nothing open and the path unreadable: nothing to gain');
});

t.test('a reopen sends later lines to the new file; earlier ones stay in the renamed one, none twice', async (t) => {
  const d = await dir(t);
  const path = join(d, 'audit.log');
  const report = recorder();
  const file = openAuditFile(path, report);
  for (let i = 0; i < 100; i++) file.write(`a${i}\n`);
  await rename(path, `${path}.1`);
  for (let i = 0; i < 100; i++) file.write(`b${i}\n`);
  t.ok(file.reopen('SIGUSR1'));
  for (let i = 0; i < 100; i++) file.write(`c${i}\n`);
  await file.close();
  const old = await read(`${path}.1`);
  const now = await read(path);
  t.equal(old, [...Array.from({ length: 100 }, (_, i) => `a${i}\n`), ...Array.from({ length: 100 }, (_, i) => `b${i}\n`)].join(''));
  t.equal(now, Array.from({ length: 100 }, (_, i) => `c${i}\n`).join(''));
  t.match(report.lines, [/^info reopened the audit log .*"trigger":"SIGUSR1"/]);
});

t.test('a check notices a replaced file at once and a removed one a check later', async (t) => {
  const d = await dir(t);
  const path = join(d, 'audit.log');
  const report = recorder();
  const file = openAuditFile(path, report);
  let now = Date.now();
  file.write('1\n');
  file.check((now += 1000));
  // logrotate with `create`: rename, then a new empty file in its place.
  await rename(path, `${path}.1`);
  await writeFile(path, '', { mode: 0o600 });
  file.check((now += 999));
  file.write('2\n');
  t.equal(report.lines.length, 0, 'not checked again within a second');
  file.check((now += 1));
  file.write('3\n');
  // Renamed away with nothing in its place.
  await rename(path, `${path}.2`);
  file.check((now += 1000));
  file.write('4\n');
  file.check((now += 1000));
  file.write('5\n');
  await file.close();
  t.equal(await read(`${path}.1`), '1\n2\n');
  t.equal(await read(`${path}.2`), '3\n4\n', 'a path gone at one check only: lines stay in the renamed file');
  t.equal(await read(path), '5\n');
  t.match(report.lines, [/"trigger":"file replaced"/, /"trigger":"file removed"/]);
});

t.test('close() waits for the files a reopen replaced: a gateway stopping right after a rotation loses no line', async (t) => {
  const d = await dir(t);
  const path = join(d, 'audit.log');
  const file = openAuditFile(path, recorder());
  // Enough queued text that its writes are still under way when the reopen and close() come.
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < 16384; i++) file.write(line);
  await rename(path, `${path}.1`);
  t.ok(file.reopen('SIGUSR1'));
  file.write('after\n');
  await file.close();
  t.equal((await readFile(`${path}.1`)).length, 16384 * 1024, 'every line queued before the reopen is in the rotated file');
  t.equal(await read(path), 'after\n');
});

t.test('a path that cannot be opened: the old file stays in use; with none open lines are counted, then reported', async (t) => {
  const d = await dir(t);
  const path = join(d, 'audit.log');
  const report = recorder();
  const file = openAuditFile(path, report);
  file.write('1\n');
  await rename(path, `${path}.1`);
  await mkdir(path); // EISDIR for the reopen
  t.notOk(file.reopen('SIGUSR1'), 'the reopen fails');
  t.notOk(file.reopen('SIGUSR1'), 'and fails again');
  file.write('2\n');
  await file.close();
  t.equal(await read(`${path}.1`), '1\n2\n', 'lines went on into the file open before');
  t.equal(report.lines.filter((l) => l.startsWith('error cannot open')).length, 1, 'the same failure is reported once');

  const missing = join(d, 'later', 'audit.log');
  const report2 = recorder();
  const file2 = openAuditFile(missing, report2);
  let now = Date.now();
  file2.write('x\ny\n');
  file2.check((now += 1000));
  await mkdir(join(d, 'later'));
  file2.check((now += 1000));
  file2.write('z\n');
  await file2.close();
  t.equal(await read(missing), 'z\n');
  t.equal(report2.lines.filter((l) => l.startsWith('error cannot open')).length, 1, 'reported once, retried at every check');
  t.match(report2.lines.at(-1), /^error audit lines were dropped .*"dropped":2/);
});

t.test('openAuditLog: flush hands the buffer on at once, reopen splits the lines between the files', async (t) => {
  const d = await dir(t);
  const path = join(d, 'audit.log');
  const log = openAuditLog(path, process.stdout, recorder());
  const entry = (n: number): AuditEntry => ({
    time: '2026-12-06T00:00:00.000Z', kind: 'request', src: '127.0.0.2', subject: null, thumbprint: null, method: 'GET',
    path: `/echo?n=${n}`, status: 200, bytes: 0, durationMs: 0, decision: 'allow', rule: 'master', reason: null,
  });
  log.write(entry(1));
  log.flush();
  log.write(entry(2));
  await rename(path, `${path}.1`);
  t.ok(log.reopen('SIGUSR1'));
  log.write(entry(3));
  await log.close();
  const paths = (text: string): string[] => text.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { path: string }).path);
  t.same(paths(await read(`${path}.1`)), ['/echo?n=1', '/echo?n=2'], 'what was gathered before the reopen went to the old file');
  t.same(paths(await read(path)), ['/echo?n=3']);
});
