/**
 * The audit log's file, reopened when it is rotated: on request (SIGUSR1, after logrotate's postrotate),
 * and by itself when the path no longer names the file it writes to (renamed or removed) — checked at most
 * once a second, when lines are written, by comparing the path's inode with the open file's.
 *
 * Lines handed to the old file before a reopen stay there (its writes finish, then it is closed); lines
 * after go to the new one: none is lost or written twice. A path that cannot be opened keeps the old file
 * (or, with none open, drops lines, counts them and tries again at the next check).
 */
import { closeSync, createWriteStream, fstatSync, openSync, statSync, type WriteStream } from 'node:fs';

/** Where the audit trail's own troubles and reopenings are told: the gateway's operational log. */
export interface AuditReport {
  info(message: string, meta: Record<string, unknown>): void;
  error(message: string, meta: Record<string, unknown>): void;
}

export interface FileIdentity {
  dev: number;
  ino: number;
}

/** What the path showed at a check: the file there, nothing, or an error other than ENOENT. */
export type PathState = FileIdentity | 'missing' | 'unreadable';

export type CheckDecision = 'keep' | 'reopen' | 'wait';

/**
 * Whether to reopen after a check. A file of another identity at the path (a rotator created it, with its
 * owner and mode) is opened at once. A path gone is opened only when it is still gone at the next check:
 * logrotate renames and then creates the new file, and a gateway creating it in between would make
 * logrotate's `create` find it taken (it then renames ours aside and complains). An unreadable path (a
 * permission change, an I/O error) keeps the open file: writing on is better than writing nowhere.
 */
export function checkDecision(open: FileIdentity | undefined, broken: boolean, path: PathState, goneBefore: boolean): CheckDecision {
  if (open === undefined || broken) return path === 'unreadable' ? 'keep' : 'reopen';
  if (path === 'unreadable') return 'keep';
  if (path === 'missing') return goneBefore ? 'reopen' : 'wait';
  return path.dev === open.dev && path.ino === open.ino ? 'keep' : 'reopen';
}

export const CHECK_EVERY_MS = 1000;

export interface AuditFile {
  /** Hands text to the open file (or counts its lines as dropped when none is open). */
  write(text: string): void;
  /** The rotation check, when a second has passed since the last one. */
  check(now?: number): void;
  /** Opens the path again now; false (and a report) when it cannot be opened. */
  reopen(why: string): boolean;
  close(): Promise<void>;
}

interface Open {
  stream: WriteStream;
  id: FileIdentity;
  broken: boolean;
}

function pathState(path: string): PathState {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
}

function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export function openAuditFile(path: string, report: AuditReport): AuditFile {
  let current: Open | undefined;
  // Files replaced by a reopen, until their queued writes have finished: close() waits for them too, so
  // a gateway that stops right after a rotation still has every line in the rotated file.
  const retiring = new Set<Promise<void>>();
  let lastCheck = 0;
  let goneBefore = false;
  let dropped = 0;
  // A path that keeps failing (its directory gone) is retried every second but reported once.
  let lastFailure: string | undefined;

  // Synchronous (once per rotation): the old file must stay in use when the new one cannot be opened,
  // which is known only after the open. The inode comes from the descriptor, not the path, so a rename
  // between the two cannot mislead the next check.
  function open(why: string): boolean {
    let fd: number | undefined;
    let id: FileIdentity;
    try {
      fd = openSync(path, 'a', 0o640);
      const st = fstatSync(fd);
      id = { dev: st.dev, ino: st.ino };
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      const message = (err as Error).message;
      if (message === lastFailure) return false;
      lastFailure = message;
      report.error('cannot open the audit log; audit lines go to the file open before, or are dropped and counted when none is', {
        auditLog: path, trigger: why, err: message, open: current !== undefined && !current.broken,
      });
      return false;
    }
    const stream = createWriteStream(path, { fd });
    const next: Open = { stream, id, broken: false };
    // A full disk must not crash the gateway; the next check opens the path again.
    stream.on('error', (err) => {
      next.broken = true;
      report.error('cannot write the audit log; it is opened again at the next check', { auditLog: path, err: err.message });
    });
    const old = current;
    current = next;
    goneBefore = false;
    lastFailure = undefined;
    // Its queued writes finish first, into the file it was opened on (the rotated one).
    if (old) retire(old);
    if (why !== 'start') report.info('reopened the audit log', { auditLog: path, trigger: why });
    if (dropped > 0) {
      report.error('audit lines were dropped while the audit log could not be opened', { auditLog: path, dropped });
      dropped = 0;
    }
    return true;
  }

  function retire(old: Open): Promise<void> {
    // A stream destroyed by a write error has nothing left to finish.
    if (old.broken || old.stream.destroyed) return Promise.resolve();
    const done: Promise<void> = new Promise<void>((resolve) => {
      old.stream.once('close', () => resolve());
      old.stream.end();
    }).finally(() => retiring.delete(done));
    retiring.add(done);
    return done;
  }

  open('start');
  return {
    write(text) {
      if (current && !current.broken) current.stream.write(text);
      else dropped += lineCount(text);
    },
    check(now = Date.now()) {
      if (now - lastCheck < CHECK_EVERY_MS) return;
      lastCheck = now;
      const state = pathState(path);
      const decision = checkDecision(current?.id, current?.broken ?? false, state, goneBefore);
      goneBefore = state === 'missing';
      if (decision === 'reopen') open(current === undefined || current.broken ? 'retry' : state === 'missing' ? 'file removed' : 'file replaced');
    },
    reopen: (why) => open(why),
    close() {
      const last = current;
      current = undefined;
      if (dropped > 0) report.error('audit lines were dropped while the audit log could not be opened', { auditLog: path, dropped });
      if (last) retire(last);
      return Promise.all([...retiring]).then(() => undefined);
    },
  };
}
