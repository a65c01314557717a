/**
 * The audit log can be rotated under load and survives a clean stop: a real gateway serves a steady stream
 * of mTLS requests, each with its own id in the path, while the test renames the audit file the ways a
 * rotator does — with SIGUSR1 after it, with a new file created in its place (logrotate's `create`), and
 * with no signal at all (the gateway notices) — and at the end every answered request has exactly one
 * line across the files. A SIGTERM in the middle of a burst, and right after one, loses no line.
 */
import t from 'tap';
import https from 'node:https';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createBed, MASTER_IP, startGatewayFront, type Bed, type Front } from '../fixtures/gateway.js';
import { waitFor } from '../fixtures/wait.js';

interface Client {
  /** GET /echo?id=N; resolves with the status, or undefined when no answer came. */
  get(id: number): Promise<number | undefined>;
  close(): void;
}

function client(bed: Bed, front: Front, sockets: number): Client {
  const agent = new https.Agent({
    keepAlive: true, maxSockets: sockets, ca: readFileSync(bed.pki.caCertPath, 'utf8'), cert: bed.certs.master.certPem, key: bed.certs.master.keyPem,
  });
  return {
    get: (id) =>
      new Promise((resolve) => {
        const req = https.request({ host: '127.0.0.1', port: front.port, servername: 'localhost', localAddress: MASTER_IP, agent, path: `/echo?id=${id}`, timeout: 20_000 });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
          res.on('error', () => resolve(undefined));
        });
        req.on('timeout', () => req.destroy(new Error('TIMEOUT')));
        req.on('error', () => resolve(undefined));
        req.end();
      }),
    close: () => agent.destroy(),
  };
}

/** The request ids in the audit files, one entry per line; a line still being written is skipped. */
async function idsIn(paths: readonly string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const p of paths) {
    const text = await readFile(p, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const m = /"path":"\/echo\?id=(\d+)"/.exec(line);
      if (m && line.endsWith('}')) ids.push(Number(m[1]));
    }
  }
  return ids;
}

/** ids seen more than once, and answered ids never seen. */
function tally(lines: readonly number[], answered: ReadonlySet<number>): { twice: number[]; missing: number[] } {
  const seen = new Map<number, number>();
  for (const id of lines) seen.set(id, (seen.get(id) ?? 0) + 1);
  return {
    twice: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
    missing: [...answered].filter((id) => !seen.has(id)),
  };
}

const reopenings = (front: Front): number => (front.output().match(/"message":"reopened the audit log"/g) ?? []).length;

t.test('rotating the audit log under load loses and duplicates no line', async (t) => {
  const bed = await createBed(t);
  const front = await startGatewayFront(t, bed);
  const http = client(bed, front, 4);
  t.teardown(() => http.close());

  const sent = new Set<number>();
  const answered = new Set<number>();
  let next = 0;
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      const id = next++;
      sent.add(id);
      const status = await http.get(id);
      if (status === 200) answered.add(id);
    }
  };
  const workers = Array.from({ length: 8 }, () => worker());
  /** Lets at least `n` more requests through, so every file gets lines of its own. */
  const moreAnswers = async (n: number): Promise<void> => {
    const target = answered.size + n;
    await waitFor(() => answered.size >= target, 60_000, `${n} more answers`, 20);
  };

  // The ways a rotator moves the file away; `signal`: SIGUSR1s afterwards (logrotate's postrotate). A new
  // file at the path may be noticed by the once-a-second check before the signal arrives.
  const rounds: { create: boolean; signal: number; trigger: RegExp }[] = [
    { create: false, signal: 1, trigger: /"trigger":"SIGUSR1"/ },
    { create: true, signal: 1, trigger: /"trigger":"(SIGUSR1|file replaced)"/ },
    { create: false, signal: 0, trigger: /"trigger":"file removed"/ },
    { create: true, signal: 0, trigger: /"trigger":"file replaced"/ },
    { create: true, signal: 3, trigger: /"trigger":"(SIGUSR1|file replaced)"/ },
  ];
  const rotated: string[] = [];
  for (const [i, round] of rounds.entries()) {
    await moreAnswers(150);
    const to = `${bed.auditPath}.${i + 1}`;
    const before = reopenings(front);
    await rename(bed.auditPath, to);
    rotated.push(to);
    if (round.create) await writeFile(bed.auditPath, '', { mode: 0o600, flag: 'wx' });
    for (let s = 0; s < round.signal; s++) process.kill(front.pid, 'SIGUSR1');
    // One reopen at least: signals sent together may arrive as one.
    await waitFor(() => reopenings(front) > before, 30_000, `round ${i + 1}: the gateway to reopen the audit log`, 20);
    const said = front.output().split('\n').filter((l) => l.includes('"message":"reopened the audit log"')).slice(before);
    t.match(said[0], round.trigger, `round ${i + 1}: reopened (${round.create ? 'new file created, ' : ''}${round.signal ? `${round.signal}× SIGUSR1` : 'no signal'})`);
  }
  await moreAnswers(150);
  running = false;
  await Promise.all(workers);

  const files = [...rotated, bed.auditPath];
  // The last batch is at most 20 ms old; a line that never comes fails the assertions below.
  await waitFor(async () => tally(await idsIn(files), answered).missing.length === 0, 15_000, 'the last audit lines', 50).catch(() => undefined);
  const lines = await idsIn(files);
  const { twice, missing } = tally(lines, answered);
  t.ok(answered.size >= 900, `${answered.size} requests answered during ${rounds.length} rotations`);
  t.same(missing, [], 'every answered request has an audit line');
  t.same(twice, [], 'no request has two');
  t.ok(lines.every((id) => sent.has(id)), 'and no line names a request never sent');
  for (const f of files) t.ok((await idsIn([f])).length > 0, `${f.slice(bed.dir.length + 1)} holds lines of its own`);
  t.notMatch(front.output(), /cannot (open|write) the audit log|dropped/, 'no audit trouble was reported');
  // Without a listener Node answers SIGUSR1 by opening its inspector and says so on stderr.
  t.notMatch(front.output(), /Debugger listening/, 'SIGUSR1 did not open Node\'s inspector');
});

t.test('SIGTERM in the middle of a burst and right after one loses no audit line', async (t) => {
  for (const when of ['midway', 'after'] as const) {
    await t.test(`SIGTERM ${when === 'midway' ? 'when half of the burst is answered' : 'as soon as the burst is answered'}`, async (t) => {
      const bed = await createBed(t);
      const front = await startGatewayFront(t, bed);
      const http = client(bed, front, 16);
      t.teardown(() => http.close());
      const burst = 400;
      const answered = new Set<number>();
      let signalled = false;
      const term = (): void => {
        if (signalled) return;
        signalled = true;
        process.kill(front.pid, 'SIGTERM');
      };
      await Promise.all(Array.from({ length: burst }, async (_, id) => {
        const status = await http.get(id);
        if (status === 200) answered.add(id);
        if (when === 'midway' && answered.size >= burst / 2) term();
      }));
      // Its keep-alive connections closed first, so the stop has nothing to wait for and ends within the
      // 20 ms the last lines may wait in the buffer.
      http.close();
      term();
      const exit = await front.exited;
      t.same(exit, { code: 0, signal: null }, 'the gateway stopped cleanly');
      const lines = await idsIn([bed.auditPath]);
      const { twice, missing } = tally(lines, answered);
      if (when === 'after') t.equal(answered.size, burst, 'the whole burst was answered before the signal');
      else t.ok(answered.size >= burst / 2, `${answered.size} of ${burst} answered`);
      t.same(missing, [], 'every answered request has an audit line');
      t.same(twice, [], 'none has two');
      t.ok(lines.every((id) => id >= 0 && id < burst), 'no line names a request never sent');
    });
  }
});

t.test('a stream cut by the stop (after the 5 s grace) still gets its audit line', async (t) => {
  const bed = await createBed(t);
  const front = await startGatewayFront(t, bed);
  const http = client(bed, front, 1);
  t.teardown(() => http.close());
  // A follow stream that would outlast the grace period; the gateway closes it and the process exits.
  const req = https.request({
    host: '127.0.0.1', port: front.port, servername: 'localhost', localAddress: MASTER_IP, path: '/stream?chunks=100&ms=200',
    ca: readFileSync(bed.pki.caCertPath, 'utf8'), cert: bed.certs.master.certPem, key: bed.certs.master.keyPem, agent: false,
  });
  const firstChunk = new Promise<void>((resolve) => req.on('response', (res) => res.once('data', () => resolve())));
  req.on('error', () => undefined);
  req.end();
  await firstChunk;
  process.kill(front.pid, 'SIGTERM');
  t.same(await front.exited, { code: 0, signal: null }, 'the gateway stopped cleanly');
  const lines = (await readFile(bed.auditPath, 'utf8')).split('\n').filter((l) => l.includes('/stream?chunks=100'));
  t.equal(lines.length, 1, 'the stream has its line');
  t.match(lines[0], /"reason":"ABORTED"/, 'as a response cut short');
});
