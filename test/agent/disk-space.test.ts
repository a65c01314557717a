import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISK_RETRY_AFTER_SECONDS, diskRefusal, diskVerdict, readDisk } from '../../agent/disk-space.js';

t.test('below the floor is refused, at or above it is not', async (t) => {
  t.same(diskVerdict(100, 200), { freeBytes: 100, floorBytes: 200, ok: false });
  t.equal(diskVerdict(200, 200).ok, true);
  t.equal(diskVerdict(0, 0).ok, true, 'a floor of 0 disables the check');
  t.equal(diskVerdict(null, 200).ok, true, 'an unreadable filesystem is not called full');
});

t.test('the refusal is a 507 with its code, the figures and a Retry-After', async (t) => {
  t.equal(diskRefusal(diskVerdict(300, 200), '/d'), null);
  const e = diskRefusal(diskVerdict(100, 200), '/d');
  t.equal(e?.code, 'AGENT_DISK_LOW');
  t.equal(e?.status, 507);
  t.same(e?.details, { freeBytes: 100, floorBytes: 200, retryAfterSeconds: DISK_RETRY_AFTER_SECONDS });
  t.match(e?.message, /\/d has 100 bytes free, below minFreeBytes \(200\)/);
});

t.test('readDisk reads the real filesystem', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-disk-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = readDisk(dir, 1);
  t.type(r.freeBytes, 'number');
  t.ok((r.freeBytes ?? 0) > 0);
  t.equal(r.ok, true);
  t.equal(readDisk(dir, Number.MAX_SAFE_INTEGER).ok, false);
  t.equal(readDisk(join(dir, 'missing'), 1).freeBytes, null);
});
