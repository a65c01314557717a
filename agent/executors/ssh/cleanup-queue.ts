/**
 * Finished jobs' remote files are removed in batches a few seconds after the agent has collected them:
 * one exec per pool (login) and effective user, never one per job, so cleanup does not cost throughput.
 */
import type { Logger } from '../../../core/logger.js';
import type { SshPool } from './connection-pool.js';
import { CLEANUP, remoteCommand, type RemoteUser } from './remote-scripts.js';

const DELAY_MS = 5000;

export class CleanupQueue {
  private readonly batches = new Map<SshPool, Map<string, { user: RemoteUser; ids: string[] }>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: string,
    private readonly logger: Logger,
  ) {}

  add(pool: SshPool, id: string, user: RemoteUser): void {
    const byUser = this.batches.get(pool) ?? new Map<string, { user: RemoteUser; ids: string[] }>();
    const key = `${user.login}\0${user.effective}`;
    const entry = byUser.get(key) ?? { user, ids: [] };
    entry.ids.push(id);
    byUser.set(key, entry);
    this.batches.set(pool, byUser);
    this.timer ??= setTimeout(() => void this.flush(), DELAY_MS).unref();
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const work = [...this.batches.entries()];
    this.batches.clear();
    for (const [pool, byUser] of work) {
      for (const { user, ids } of byUser.values()) {
        await pool.exec(remoteCommand(user, CLEANUP, 'outpost-cleanup', ids)).catch((err: Error) =>
          this.logger.debug('ssh cleanup failed', { server: this.server, error: err.message }),
        );
      }
    }
  }
}
