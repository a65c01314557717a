/**
 * Follows one job's output through the agent's streaming endpoint until the job ends. When the connection
 * drops (gateway restart, network blip), it reconnects with `offset` = bytes already delivered; the
 * cursor trims any overlap, so output is never duplicated and never out of order. Gives up only after
 * repeated failures without progress, with an error that says how to fetch the rest by hand.
 */
import { masterError } from './errors.js';
import { OutputCursor } from './output-stream.js';
import type { AgentClient, JobRecord } from './client.js';
import { TERMINAL_STATES } from './summary.js';
import { abortableSleep } from './scheduler.js';

export interface FollowOptions {
  from?: number;
  onData: (fresh: Buffer) => void;
  /** Called once per reconnect, with the offset resumed from and why. */
  onResume?: (offset: number, reason: string) => void;
  signal?: AbortSignal;
  /** Consecutive failed attempts before giving up (default 8, with backoff up to 5 s). */
  maxFailures?: number;
  /** Backoff base in ms (default 250). */
  backoffMs?: number;
}

export interface FollowResult {
  job: JobRecord;
  bytes: number;
  resumes: number;
}

export async function followOutput(client: AgentClient, id: string, options: FollowOptions): Promise<FollowResult> {
  const cursor = new OutputCursor(options.from ?? 0);
  const maxFailures = options.maxFailures ?? 8;
  const backoff = options.backoffMs ?? 250;
  let failures = 0;
  let resumes = 0;
  let lastError: unknown = null;
  let first = true;

  let progressed = false;
  const drain = async (follow: boolean): Promise<void> => {
    const res = await client.output(id, cursor.offset, follow, options.signal);
    // Position in the job's output of the next byte of this response (it may start before the cursor).
    let position = res.start;
    for await (const chunk of res.body) {
      const fresh = cursor.accept(position, chunk);
      position += chunk.byteLength;
      if (fresh.length > 0) {
        failures = 0;
        progressed = true;
        options.onData(fresh);
      }
    }
  };

  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    if (!first) {
      resumes++;
      options.onResume?.(cursor.offset, lastError ? String((lastError as Error).message ?? lastError) : 'stream ended before the job');
    }
    first = false;
    progressed = false;
    try {
      await drain(true);
      // The stream ended: normally because the job ended. Confirm, and pick up any tail written late —
      // unless the record says every byte is here already (the usual case: one request less per host).
      const job = await client.job(id, options.signal);
      if (TERMINAL_STATES.has(job.state)) {
        if (!(typeof job.outputBytes === 'number' && cursor.offset >= job.outputBytes)) await drain(false);
        return { job, bytes: cursor.offset, resumes };
      }
      lastError = null;
      // An agent that closes the stream early without new output is not hammered.
      if (!progressed) await abortableSleep(backoff, options.signal);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const code = (err as { code?: string }).code;
      // Answers that will not change by retrying end the follow at once.
      if (code && ['MASTER_JOB_NOT_FOUND', 'MASTER_ACCESS_DENIED', 'MASTER_REQUEST_REFUSED', 'MASTER_INVALID_JOB_ID', 'MASTER_TLS_FAILED'].includes(code)) throw err;
      if (code === 'MASTER_OUTPUT_INTERRUPTED') throw err; // a gap: never print out of order
      lastError = err;
      failures++;
      if (failures >= maxFailures) {
        throw masterError(
          'MASTER_OUTPUT_INTERRUPTED',
          `${client.url}: lost the output of job ${id} at byte ${cursor.offset} after ${failures} attempts (${(err as Error).message})`,
          { cause: err, details: { jobId: id, offset: cursor.offset } },
        );
      }
      await abortableSleep(Math.min(5000, backoff * 2 ** (failures - 1)), options.signal);
    }
  }
}
