import t from 'tap';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkStoreFormat, JobStore, STORE_FORMAT } from '../../agent/job-store.js';
import type { JobRecord } from '../../agent/job-record.js';
import { tempDir } from '../fixtures/cli.js';

function record(id: string): JobRecord {
  return {
    id, state: 'queued', spec: { id, kind: 'argv', argv: ['/bin/true'] }, executor: 'local', createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null, endedAt: null, exitCode: null, signal: null, endReason: null, message: null, runtime: null, ranOn: null, submittedBy: null,
  };
}

t.test('records and their updates survive reopening', async (t) => {
  const dir = await tempDir(t);
  const a = await JobStore.open(dir);
  await a.create(record('j1'));
  await a.create(record('j2'));
  void a.update('j1', { state: 'succeeded', exitCode: 0 }).written;
  await a.remove(['j2']);
  await a.close();
  t.equal((await stat(join(dir, 'journal.jsonl'))).mode & 0o777, 0o600);
  const b = await JobStore.open(dir);
  t.match(b.jobs.get('j1'), { state: 'succeeded', exitCode: 0 });
  t.notOk(b.jobs.has('j2'));
  await b.close();
});

t.test('concurrent creates share fsyncs and all land', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  await Promise.all(Array.from({ length: 200 }, (_, i) => s.create(record(`c${i}`))));
  await s.close();
  const lines = (await readFile(join(dir, 'journal.jsonl'), 'utf8')).trim().split('\n');
  t.equal(lines.length, 200);
  const reopened = await JobStore.open(dir);
  t.equal(reopened.jobs.size, 200);
  await reopened.close();
});

t.test('a torn last line (crash mid-append) is cut off, so later appends stay readable; corruption elsewhere is not ignored', async (t) => {
  const dir = await tempDir(t);
  const journal = join(dir, 'journal.jsonl');
  const s = await JobStore.open(dir);
  await s.create(record('ok'));
  await s.close();
  await appendFile(journal, '{"t":"create","job":{"id":"tor');
  const s2 = await JobStore.open(dir);
  t.ok(s2.jobs.has('ok'));
  t.notOk((await readFile(journal, 'utf8')).includes('"tor'), 'the fragment is gone from the journal');
  await s2.create(record('next'));
  await s2.close();
  const s3 = await JobStore.open(dir);
  t.same([...s3.jobs.keys()].sort(), ['next', 'ok'], 'the record appended after the crash survives the next start');
  await s3.close();

  // A last event complete but for its newline is kept, and the next one starts on its own line.
  const line = (await readFile(journal, 'utf8')).split('\n')[0]!.replace('"ok"', '"whole"');
  await appendFile(journal, line);
  const s4 = await JobStore.open(dir);
  t.ok(s4.jobs.has('whole'));
  await s4.create(record('after-whole'));
  await s4.close();
  const s5 = await JobStore.open(dir);
  t.ok(s5.jobs.has('after-whole'));
  await s5.close();

  await appendFile(journal, '{"t":"create","job":{"id":"broken\n{"t":"create","job":{"id":"later"}}\n');
  await t.rejects(JobStore.open(dir), /corrupt/, 'a bad line that is not the last one is corruption');
});

t.test('compaction keeps every record, including ones written meanwhile', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  for (let i = 0; i < 50; i++) await s.create(record(`k${i}`));
  const during = s.compact();
  const late = s.create(record('late'));
  await during;
  await late;
  void s.update('k0', { state: 'failed' }).written;
  await s.close();
  const reopened = await JobStore.open(dir);
  t.equal(reopened.jobs.size, 51);
  t.equal(reopened.jobs.get('k0')?.state, 'failed');
  t.ok(reopened.jobs.has('late'));
  await reopened.close();
});

function ended(id: string): Partial<JobRecord> {
  return { state: 'succeeded', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:01.000Z', exitCode: 0, endReason: 'exited', runtime: { supervisorPid: 7, supervisorStart: `s-${id}` } };
}

/** What an ended job reads back as: its runtime facts are not kept once it has ended (ended-job.ts). */
function shown(id: string, extra: Partial<JobRecord> = {}): JobRecord {
  return { ...full(id), ...ended(id), runtime: null, ...extra };
}

function full(id: string): JobRecord {
  return { ...record(id), spec: { id, kind: 'command', command: `echo ${id}`, env: { A: 'b' } }, description: `job ${id}`, submittedBy: { subject: 'CN=m' } };
}

t.test('an ended job is kept as a summary and its whole record is read back from the files', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  await s.create(full('e1'));
  await s.create(full('r1'));
  await s.update('e1', ended('e1')).written;
  await s.update('r1', { state: 'running', startedAt: '2026-01-01T00:00:00.000Z' }).written;
  // The running job is the very object in memory; the ended one is a summary without what was asked.
  t.equal(s.record('r1'), s.jobs.get('r1'));
  t.notOk('spec' in (s.jobs.get('e1') as object));
  t.same(s.record('e1'), shown('e1'));
  // Key order as created, so the API's JSON reads as it always did.
  t.same(Object.keys(s.record('e1') as object), Object.keys(full('e1')));
  t.equal(s.record('nope'), undefined);
  // Later updates to an ended job's summary are laid over what the file says.
  await s.update('e1', { message: 'noted' }).written;
  t.equal(s.record('e1')?.message, 'noted');
  await s.close();

  const again = await JobStore.open(dir);
  t.same(again.record('e1'), shown('e1', { message: 'noted' }));
  t.notOk('spec' in (again.jobs.get('e1') as object), 'loaded ended jobs are summaries too');
  t.match(again.record('r1'), { state: 'running', spec: { command: 'echo r1' } });
  await again.close();
});

t.test('a job that ends before its create line is written stays whole until it is', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  const created = s.create(full('q1'));
  void s.update('q1', { state: 'cancelled', endReason: 'cancel' }).written;
  t.equal(s.record('q1')?.spec.command, 'echo q1', 'readable while its line is not yet in the file');
  await created;
  t.notOk('spec' in (s.jobs.get('q1') as object));
  t.match(s.record('q1'), { state: 'cancelled', spec: { command: 'echo q1' } });
  await s.close();
});

t.test('compaction moves ended jobs to the snapshot; reads follow, before and after reopening', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  for (let i = 0; i < 1200; i++) await s.create(full(`m${i}`));
  for (let i = 0; i < 1200; i += 2) await s.update(`m${i}`, ended(`m${i}`)).written;
  const during = s.compact();
  // Changes while the snapshot is built (it yields between chunks) must all survive.
  const late = s.create(full('late'));
  void s.update('m1', ended('m1')).written;
  const removed = s.remove(['m2']);
  await during;
  await Promise.all([late, removed]);
  t.ok((await stat(join(dir, 'snapshot.jsonl'))).size > 0);
  const check = (store: JobStore): void => {
    t.equal(store.jobs.size, 1200);
    t.notOk(store.jobs.has('m2'));
    t.same(store.record('m0'), shown('m0'));
    t.same(store.record('m1'), shown('m1'));
    t.match(store.record('m5'), { state: 'queued', spec: { command: 'echo m5' } });
    t.match(store.record('late'), { state: 'queued', spec: { command: 'echo late' } });
    t.equal(store.record('m1198')?.description, 'job m1198');
  };
  check(s);
  // A job that ends after the compaction is read back from its snapshot line.
  await s.update('m3', ended('m3')).written;
  t.same(s.record('m3'), shown('m3'));
  await s.close();
  const reopened = await JobStore.open(dir);
  check(reopened);
  t.same(reopened.record('m3'), shown('m3'));
  await reopened.close();
});

t.test('a record that cannot be read back is a distinct store error, not a wrong answer', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  await s.create(full('x1'));
  await s.update('x1', ended('x1')).written;
  await s.close();
  const reopened = await JobStore.open(dir);
  // Someone rewrote the journal under the running agent: the line is not where it was.
  const text = await readFile(join(dir, 'journal.jsonl'), 'utf8');
  await writeFile(join(dir, 'journal.jsonl'), `{"t":"remove","ids":[]}\n${text}`);
  t.throws(() => reopened.record('x1'), { code: 'AGENT_STORE_FAILED' });
  await reopened.close();
});

t.test('idempotency keys survive reopening, within their window, and go with their job', async (t) => {
  const dir = await tempDir(t);
  const now = new Date().toISOString();
  const keyed = (id: string, key: string, createdAt = now): JobRecord => ({ ...record(id), createdAt, submittedBy: { thumbprint: 'ab' }, idempotency: { key, fingerprint: `fp-${id}` } });
  const s = await JobStore.open(dir);
  await s.create(keyed('k1', 'key-1'));
  await s.create(keyed('k2', 'key-2'));
  await s.create(keyed('k3', 'key-3', '2020-01-01T00:00:00.000Z'));
  await s.remove(['k2']);
  await s.close();
  const again = await JobStore.open(dir, { idempotencyWindowMs: 3_600_000 });
  t.match(again.idempotent('ab\nkey-1'), { id: 'k1', fingerprint: 'fp-k1' });
  t.equal(again.idempotent('\nkey-1'), undefined, 'another client (scope) does not see it');
  t.equal(again.idempotent('ab\nkey-2'), undefined, 'a removed job frees its key');
  t.equal(again.idempotent('ab\nkey-3'), undefined, 'older than the window');
  await again.compact();
  await again.close();
  const compacted = await JobStore.open(dir);
  t.match(compacted.idempotent('ab\nkey-1'), { id: 'k1' }, 'kept through compaction');
  await compacted.close();
});

t.test('journal and snapshot lines carry their format version; lines without one read as format 1', async (t) => {
  const dir = await tempDir(t);
  // As an agent from before the version was recorded wrote them.
  const old = { ...record('old'), state: 'succeeded', exitCode: 0 };
  await writeFile(join(dir, 'journal.jsonl'), `${JSON.stringify({ t: 'create', job: old })}\n${JSON.stringify({ t: 'update', id: 'old', patch: { message: 'kept' } })}\n`);
  const s = await JobStore.open(dir);
  t.match(s.record('old'), { state: 'succeeded', exitCode: 0, message: 'kept' }, 'the old format is read');
  await s.create(record('new'));
  let lines = (await readFile(join(dir, 'journal.jsonl'), 'utf8')).trim().split('\n');
  t.match(JSON.parse(lines.at(-1)!), { v: STORE_FORMAT, t: 'create', job: { id: 'new' } }, 'a new line says its format');
  t.ok(lines.at(-1)!.startsWith(`{"v":${STORE_FORMAT},`), 'first, so a reader sees it at a glance');
  await s.compact();
  lines = (await readFile(join(dir, 'snapshot.jsonl'), 'utf8')).trim().split('\n');
  t.equal(lines.length, 2);
  t.ok(lines.every((l) => (JSON.parse(l) as { v?: number }).v === STORE_FORMAT), 'snapshot lines too, the old record included');
  t.match(s.record('old'), { message: 'kept' }, 'read back from its snapshot line');
  await s.close();
});

t.test('a journal or snapshot of a newer format refuses to open with AGENT_JOURNAL_TOO_NEW and changes nothing', async (t) => {
  for (const name of ['journal.jsonl', 'snapshot.jsonl']) {
    const dir = await tempDir(t);
    const s = await JobStore.open(dir);
    await s.create(record('a'));
    await s.close();
    const file = join(dir, name);
    const before = name === 'journal.jsonl' ? await readFile(file, 'utf8') : '';
    // A newer agent's line, then a torn last line: a store that opened would cut the fragment off.
    const content = `${before}${JSON.stringify({ v: STORE_FORMAT + 1, t: 'create', job: record('b'), newField: 1 })}\n{"v":${STORE_FORMAT + 1},"t":"upd`;
    await writeFile(file, content);
    const { mtimeMs } = await stat(file);
    const journalBefore = await readFile(join(dir, 'journal.jsonl'), 'utf8');
    await t.rejects(JobStore.open(dir), {
      code: 'AGENT_JOURNAL_TOO_NEW',
      message: new RegExp(`${name} line \\d+ has format version ${STORE_FORMAT + 1}, written by a newer agent; this agent reads format ${STORE_FORMAT} and older\\. Nothing was changed`),
    }, name);
    t.equal(await readFile(file, 'utf8'), content, `${name} is byte for byte as it was`);
    t.equal((await stat(file)).mtimeMs, mtimeMs);
    t.equal(await readFile(join(dir, 'journal.jsonl'), 'utf8'), journalBefore, 'the journal too');
  }
});

t.test('a format version that is not a positive integer is corruption, not a newer format', async (t) => {
  t.equal(checkStoreFormat({}, 'x'), 1);
  t.equal(checkStoreFormat({ v: 1 }, 'x'), 1);
  for (const v of [0, -1, 1.5, '2', null]) t.throws(() => checkStoreFormat({ v }, 'journal line 3'), { message: /journal line 3 is corrupt: format version/ }, JSON.stringify(v));
  t.throws(() => checkStoreFormat({ v: 3 }, 'x', 2), { code: 'AGENT_JOURNAL_TOO_NEW' });
});

t.test('update returns the job as it is now: callers never rely on objects changing under them', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  await s.create(record('u1'));
  const running = s.update('u1', { state: 'running', startedAt: '2026-01-01T00:00:01.000Z' });
  t.match(running.summary, { id: 'u1', state: 'running', startedAt: '2026-01-01T00:00:01.000Z' });
  await running.written;
  const ended = s.update('u1', { state: 'failed', exitCode: 3, endedAt: '2026-01-01T00:00:02.000Z' });
  t.match(ended.summary, { id: 'u1', state: 'failed', exitCode: 3 });
  await ended.written;
  // Once ended and written, the job is a summary of its own; an update returns that, changed.
  const noted = s.update('u1', { message: 'noted' });
  t.match(noted.summary, { id: 'u1', state: 'failed', message: 'noted' });
  t.equal(noted.summary, s.jobs.get('u1'));
  await noted.written;
  const unknown = s.update('nope', { state: 'failed' });
  t.equal(unknown.summary, undefined, 'an unknown job has no summary');
  await unknown.written;
  await s.close();
});
