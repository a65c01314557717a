/**
 * A scan from an unlisted source cannot fill the disk: its first refused connection in an interval gets an
 * audit line at once, the rest are counted into one summary line (count, firstAt, lastAt) written when the
 * interval ends, or when the gateway stops.
 */
import t from 'tap';
import net from 'node:net';
import { createBed, startGatewayFront, UNLISTED_IP } from '../fixtures/gateway.js';

/** Opens `n` TCP connections from the unlisted address, one after another, each closed by the gateway. */
async function scan(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      const c = net.connect({ port, host: '127.0.0.1', localAddress: UNLISTED_IP });
      c.on('error', () => {});
      c.on('close', () => resolve());
    });
  }
}

/** SIGTERM, then waits for the process to be gone: every audit line has been written by then. */
async function stop(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > until) throw new Error(`gateway ${pid} did not stop`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fromUnlisted = (lines: Record<string, unknown>[]): Record<string, unknown>[] => lines.filter((l) => l.src === UNLISTED_IP);

async function waitLines(read: () => Promise<Record<string, unknown>[]>, done: (l: Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> {
  // Generous: the machine may be loaded; the condition ends the wait.
  const until = Date.now() + 60_000;
  for (;;) {
    const lines = fromUnlisted(await read());
    if (done(lines) || Date.now() > until) return lines;
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('twenty refused connections in one interval: one line at once, one summary with count 19 after it', async (t) => {
  const bed = await createBed(t);
  bed.config.auditRateLimit = { intervalSeconds: 2 };
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  const before = Date.now();
  await scan(front.port, 20);
  const lines = await waitLines(() => front.audit(), (l) => l.some((x) => x.count !== undefined));
  t.equal(lines.length, 2, 'two lines for twenty connections');
  const [first, summary] = lines;
  t.match(first, { kind: 'connection', decision: 'deny', reason: 'IP_NOT_ALLOWED', rule: null });
  t.notOk(first && 'count' in first, 'the first line is an ordinary one');
  t.match(summary, { kind: 'connection', decision: 'deny', reason: 'IP_NOT_ALLOWED', count: 19, firstAt: String, lastAt: String });
  const firstAt = Date.parse(String(summary?.firstAt));
  const lastAt = Date.parse(String(summary?.lastAt));
  t.ok(firstAt >= before - 1000 && firstAt <= lastAt, 'firstAt and lastAt are the times of the held-back refusals');
  t.ok(Date.parse(String(summary?.time)) >= firstAt + 2000 - 1000, 'the summary is written once the interval has ended');

  // The next scan starts a new interval: a line at once again.
  await scan(front.port, 1);
  t.equal((await waitLines(() => front.audit(), (l) => l.length >= 3)).length, 3);
});

t.test('what is held back is written when the gateway stops', async (t) => {
  const bed = await createBed(t);
  bed.config.auditRateLimit = { intervalSeconds: 3600 };
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  await scan(front.port, 10);
  t.equal((await waitLines(() => front.audit(), (l) => l.length >= 1)).length, 1);
  await stop(front.pid);
  const lines = fromUnlisted(await front.audit());
  t.equal(lines.length, 2, 'the first line and the summary, nothing else (no handshake error for the refused connections)');
  t.match(lines[1], { reason: 'IP_NOT_ALLOWED', count: 9 });
});

t.test('intervalSeconds 0 writes every refusal', async (t) => {
  const bed = await createBed(t);
  bed.config.auditRateLimit = { intervalSeconds: 0 };
  await bed.writeConfig();
  const front = await startGatewayFront(t, bed);
  await scan(front.port, 5);
  await stop(front.pid);
  const lines = fromUnlisted(await front.audit());
  t.equal(lines.length, 5, 'one line per connection');
  t.ok(lines.every((l) => l.reason === 'IP_NOT_ALLOWED' && !('count' in l)));
});
