/**
 * The benchmarks' client of the agent's socket: jobs submitted over a keep-alive connection, and their
 * completion seen as a master sees it — one subscription to the event stream (GET /v1/events, SSE)
 * instead of polling each job, so a benchmark measures the agent, not a poll interval.
 */
import http from 'node:http';

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'lost']);

export interface JobEvents {
  /** Resolves with the final state of job `id` (also when it ended before this call). */
  done(id: string): Promise<string>;
  close(): void;
}

export async function watchJobEvents(socketPath: string): Promise<JobEvents> {
  const waiters = new Map<string, (state: string) => void>();
  const ended = new Map<string, string>();
  const req = http.get({ socketPath, path: '/v1/events' });
  await new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /v1/events answered ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
          buf = buf.slice(i + 2);
          if (!data) continue;
          const { id, state } = JSON.parse(data) as { id: string; state: string };
          if (!FINAL.has(state)) continue;
          const waiter = waiters.get(id);
          if (waiter) {
            waiters.delete(id);
            waiter(state);
          } else ended.set(id, state);
        }
      });
      resolve();
    });
  });
  return {
    done(id) {
      const state = ended.get(id);
      if (state !== undefined) {
        ended.delete(id);
        return Promise.resolve(state);
      }
      return new Promise((resolve) => waiters.set(id, resolve));
    },
    close: () => req.destroy(),
  };
}

/** POST /v1/jobs; the answer's status and body as text (the caller decides what a 503 means). */
export function postJob(socketPath: string, agent: http.Agent, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      { socketPath, agent, method: 'POST', path: '/v1/jobs', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
