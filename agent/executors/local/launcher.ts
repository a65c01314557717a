/**
 * The agent's handle on the Perl launcher (supervisor-source.ts): one small long-lived process that forks
 * one supervisor per job, so the agent itself — whose RSS grows with its job table — never forks for a job.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { arch } from 'node:process';
import { LAUNCHER_SOURCE } from './supervisor-source.js';

/** setsid, prctl and exit_group syscall numbers; 0 makes the supervisor fall back (setpgrp, no
 * subreaper, perl's exit). */
const SYSCALLS: Readonly<Record<string, readonly [number, number, number]>> = {
  x64: [112, 157, 231],
  arm64: [157, 167, 94],
};

/** Signals a run-as job's processes as their own user (the supervisor may not): a real Perl file, copied
 * into dist/ by the build, read once here and handed to the launcher. */
const KILLER_SOURCE = readFileSync(new URL('./killer.pl', import.meta.url), 'utf8');

/** waitExit's answer when the launcher died before the supervisor: its end must be watched instead. */
export const LAUNCHER_GONE = -1;

export interface LaunchRequest {
  readonly dir: string;
  readonly output: string;
  readonly timeoutSeconds: number;
  readonly graceSeconds: number;
  readonly mode: 'inline' | 'stdin';
  readonly payload: string;
  readonly argv: readonly string[];
  /** Runs a program as the job's run-as user (sudo/su prefix); empty when the job runs as the agent. */
  readonly switchAs: readonly string[];
}

export interface Launched {
  readonly pid: number;
  readonly startTime: string;
}

const hex = (s: string): string => `x${Buffer.from(s, 'utf8').toString('hex')}`;

export function encodeLaunch(req: string, r: LaunchRequest): string {
  const t = Math.max(0, Math.floor(r.timeoutSeconds));
  const g = Math.max(1, Math.floor(r.graceSeconds));
  return ['L', req, hex(r.dir), hex(r.output), String(t), String(g), r.mode, hex(r.payload), hex(r.switchAs.join('\0')), ...r.argv.map(hex)].join(' ') + '\n';
}

export class Launcher {
  private child: ChildProcessWithoutNullStreams | null = null;
  private seq = 0;
  private readonly pending = new Map<string, { resolve: (l: Launched) => void; reject: (e: Error) => void }>();
  private readonly exitWaiters = new Map<number, (status: number) => void>();
  /** Exits reported before the `S` line reached us (a very short job); kept until claimed. */
  private readonly earlyExits = new Map<number, number>();
  private closing = false;
  private restarts: number[] = [];

  constructor(
    private readonly perl: string,
    private readonly onCrash: (err: Error) => void,
  ) {}

  start(): void {
    const [setsid, prctl, exit] = SYSCALLS[arch] ?? [0, 0, 0];
    const child = spawn(this.perl, ['-e', LAUNCHER_SOURCE, '--', String(setsid), String(prctl), String(exit), this.perl, KILLER_SOURCE], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
    });
    this.child = child;
    child.stderr.setEncoding('utf8').on('data', (d: string) => this.onCrash(new Error(`launcher: ${d.trim()}`)));
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    child.on('error', (err) => this.failAll(err));
    child.on('exit', (code, signal) => {
      this.child = null;
      const err = new Error(`job launcher exited (${signal ?? code})`);
      this.failAll(err);
      // Supervisors outlive the launcher; their exits can no longer be reported, so waiters learn
      // LAUNCHER_GONE and fall back to watching the supervisor by pid and start time.
      for (const waiter of this.exitWaiters.values()) waiter(LAUNCHER_GONE);
      this.exitWaiters.clear();
      if (this.closing) return;
      this.onCrash(err);
      // Restart, but not in a tight loop if perl itself is broken.
      const now = Date.now();
      this.restarts = this.restarts.filter((at) => now - at < 60_000);
      if (this.restarts.length < 5) {
        this.restarts.push(now);
        setTimeout(() => {
          if (!this.closing) this.start();
        }, 500).unref();
      }
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private onLine(line: string): void {
    const [kind, a, b, c] = line.split(' ');
    if (kind === 'S' && a !== undefined) {
      const p = this.pending.get(a);
      this.pending.delete(a);
      p?.resolve({ pid: Number(b), startTime: c ?? '' });
    } else if (kind === 'E' && a !== undefined) {
      const p = this.pending.get(a);
      this.pending.delete(a);
      p?.reject(new Error(line.split(' ').slice(2).join(' ')));
    } else if (kind === 'X') {
      const pid = Number(a);
      const status = Number(b);
      const waiter = this.exitWaiters.get(pid);
      if (waiter) {
        this.exitWaiters.delete(pid);
        waiter(status);
      } else {
        this.earlyExits.set(pid, status);
      }
    }
  }

  launch(request: LaunchRequest): Promise<Launched> {
    const child = this.child;
    if (!child) return Promise.reject(new Error('job launcher is not running'));
    const req = String(++this.seq);
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      child.stdin.write(encodeLaunch(req, request));
    });
  }

  /** Resolves when the supervisor `pid` (launched by this launcher) has exited, or LAUNCHER_GONE. */
  waitExit(pid: number): Promise<number> {
    if (!this.child) return Promise.resolve(LAUNCHER_GONE);
    const early = this.earlyExits.get(pid);
    if (early !== undefined) {
      this.earlyExits.delete(pid);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => this.exitWaiters.set(pid, resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the launcher; supervisors it started keep running (own session). */
  async close(): Promise<void> {
    this.closing = true;
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    });
  }
}
