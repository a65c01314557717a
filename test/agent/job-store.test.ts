import t from 'tap';
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JobStore } from '../../agent/job-store.js';
import type { JobRecord } from '../../agent/job-record.js';
import { tempDir } from '../fixtures/cli.js';

function record(id: string): JobRecord {
  return {
    id, state: 'queued', spec: { id, kind: 'argv', argv: ['/bin/true'] }, executor: 'local', createdAt: new Date().toISOString(),
    startedAt: null, endedAt: null, exitCode: null, signal: null, endReason: null, message: null, runtime: null, ranOn: null, submittedBy: null,
  };
}

t.test('records and their updates survive reopening', async (t) => {
  const dir = await tempDir(t);
  const a = await JobStore.open(dir);
  await a.create(record('j1'));
  await a.create(record('j2'));
  void a.update('j1', { state: 'succeeded', exitCode: 0 });
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
  t.equal((await JobStore.open(dir)).jobs.size, 200);
});

t.test('a torn last line (crash mid-append) is ignored; corruption elsewhere is not', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  await s.create(record('ok'));
  await s.close();
  await appendFile(join(dir, 'journal.jsonl'), '{"t":"create","job":{"id":"tor');
  t.ok((await JobStore.open(dir)).jobs.has('ok'));
  await appendFile(join(dir, 'journal.jsonl'), '\n{"t":"create","job":{"id":"after"}}\n');
  await t.rejects(JobStore.open(dir), /corrupt/);
});

t.test('compaction keeps every record, including ones written meanwhile', async (t) => {
  const dir = await tempDir(t);
  const s = await JobStore.open(dir);
  for (let i = 0; i < 50; i++) await s.create(record(`k${i}`));
  const during = s.compact();
  const late = s.create(record('late'));
  await during;
  await late;
  void s.update('k0', { state: 'failed' });
  await s.close();
  const reopened = await JobStore.open(dir);
  t.equal(reopened.jobs.size, 51);
  t.equal(reopened.jobs.get('k0')?.state, 'failed');
  t.ok(reopened.jobs.has('late'));
});
