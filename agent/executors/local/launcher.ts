/**
 * The agent's handle on the Perl launcher (supervisor-source.ts): one small long-lived process that forks
 * one supervisor per job, so the agent itself — whose RSS grows with its job table — never forks for a job.
 * Either the agent's own child (stdin/stdout), or a service of its own the agent connects to over a Unix
 * socket (`launcherSocket`), so that jobs run outside the agent's sandbox (docs/agent.md, "The job sandbox").
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { arch } from 'node:process';
import { LAUNCHER_PROTOCOL, LAUNCHER_SOURCE } from './supervisor-source.js';
import { programFile } from '../program-file.js';

/** setsid, prctl, exit_group and rt_sigprocmask syscall numbers; 0 makes the supervisor fall back
 * (setpgrp, no subreaper, perl's exit, control signals not held back while a supervisor starts). */
const SYSCALLS: Readonly<Record<string, readonly [number, number, number, number]>> = {
  x64: [112, 157, 231, 14],
  arm64: [157, 167, 94, 135],
};

/** Signals a run-as job's processes as their own user (the supervisor may not): read once here and handed
 * to the launcher. */
const KILLER_SOURCE = programFile('killer.pl', import.meta.url);

/** Unclaimed exit reports kept (see onLine). */
const EARLY_EXITS_KEPT = 4096;

/** waitExit's answer when the launcher died before the supervisor: its end must be watched instead. */
export const LAUNCHER_GONE = -1;

export interface LaunchRequest {
  readonly dir: string;
  readonly output: string;
  readonly timeoutSeconds: number;
  readonly graceSeconds: number;
  /** Bytes of output kept (0: all); the supervisor cuts the rest (output-cap.ts). */
  readonly maxOutputBytes: number;
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

/**
 * The launcher service's first line, `H <pid> <protocol>`; a launcher from before the protocol version sends
 * only the pid, which reads as protocol 1. An unreadable version is never a match.
 */
export function parseHello(line: string): { pid: number; protocol: number; text: string } {
  const [, pid, version] = line.split(' ');
  const text = version ?? '1 (none announced)';
  const protocol = version === undefined ? 1 : /^\d{1,6}$/.test(version) ? Number(version) : Number.NaN;
  return { pid: Number(pid), protocol, text };
}

/** The launcher's command line; with `listen`, it serves agents on that Unix socket instead of stdin. */
export function launcherCommand(perl: string, listen?: string): { file: string; args: string[] } {
  const [setsid, prctl, exit, sigmask] = SYSCALLS[arch] ?? [0, 0, 0, 0];
  return { file: perl, args: ['-e', LAUNCHER_SOURCE, '--', String(setsid), String(prctl), String(exit), String(sigmask), perl, KILLER_SOURCE, listen ?? ''] };
}

/** What the agent talks to: its own launcher child, or a connection to the launcher service. */
interface Channel {
  write(line: string): void;
  end(): void;
  readonly pid: number | undefined;
}

const hex = (s: string): string => `x${Buffer.from(s, 'utf8').toString('hex')}`;

export function encodeLaunch(req: string, r: LaunchRequest): string {
  const t = Math.max(0, Math.floor(r.timeoutSeconds));
  const g = Math.max(1, Math.floor(r.graceSeconds));
  const cap = Math.max(0, Math.floor(r.maxOutputBytes));
  return ['L', req, hex(r.dir), hex(r.output), String(t), `${g}:${cap}`, r.mode, hex(r.payload), hex(r.switchAs.join('\0')), ...r.argv.map(hex)].join(' ') + '\n';
}

export class Launcher {
  private channel: Channel | null = null;
  private seq = 0;
  private readonly pending = new Map<string, { resolve: (l: Launched) => void; reject: (e: Error) => void }>();
  private readonly exitWaiters = new Map<number, (status: number) => void>();
  /** Exits reported before the `S` line reached us (a very short job); kept until claimed. */
  private readonly earlyExits = new Map<number, number>();
  private closing = false;
  private restarts: number[] = [];
  private onClosed: (() => void) | null = null;
  /** Pid the launcher service announced on connecting (`H` line). */
  private servicePid: number | undefined;
  private reportedDown = false;
  /** An incompatible launcher service is reported once, not on every reconnection. */
  private reportedIncompatible = false;

  constructor(
    private readonly perl: string,
    private readonly onCrash: (err: Error) => void,
    /** The launcher service's socket; unset: the agent runs its own launcher as a child. */
    private readonly socketPath?: string,
  ) {}

  start(): void {
    if (this.socketPath !== undefined) this.connect(this.socketPath);
    else this.spawnChild();
  }

  private spawnChild(): void {
    const { file, args } = launcherCommand(this.perl);
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
    this.channel = { write: (line) => child.stdin.write(line), end: () => child.stdin.end(), pid: child.pid };
    child.stderr.setEncoding('utf8').on('data', (d: string) => this.onCrash(new Error(`launcher: ${d.trim()}`)));
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    child.on('error', (err) => this.failAll(err));
    child.on('exit', (code, signal) => {
      this.lost(new Error(`job launcher exited (${signal ?? code})`));
      if (this.closing) return;
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

  /** The launcher service may start after the agent or restart: keep trying, report each outage once. */
  private connect(path: string): void {
    const socket = createConnection(path);
    let connected = false;
    let refused = false;
    socket.on('connect', () => {
      connected = true;
      this.reportedDown = false;
    });
    // readline re-emits its input's errors: the socket's own handler below is the one that reports them.
    createInterface({ input: socket })
      .on('line', (line) => {
        if (this.channel === null && !refused && line.startsWith('H ')) {
          // Nothing is sent before the service said which protocol it speaks.
          const hello = parseHello(line);
          if (hello.protocol === LAUNCHER_PROTOCOL) {
            this.reportedIncompatible = false;
            this.servicePid = hello.pid;
            this.channel = { write: (l) => socket.write(l), end: () => socket.end(), pid: undefined };
            return;
          }
          refused = true;
          if (!this.reportedIncompatible) {
            this.reportedIncompatible = true;
            this.onCrash(new Error(`the job launcher at ${path} speaks launcher protocol ${hello.text}, this agent speaks ${LAUNCHER_PROTOCOL}: restart outpost-launcher.service from the same Outpost release as the agent`));
          }
          socket.destroy();
          return;
        }
        this.onLine(line);
      })
      .on('error', () => undefined);
    socket.on('error', (err) => {
      if (!connected && !this.reportedDown) {
        this.reportedDown = true;
        this.onCrash(new Error(`cannot connect to the job launcher at ${path} (is outpost-launcher.service running?): ${err.message}`));
      }
    });
    socket.on('close', () => {
      if (connected && !refused) this.lost(new Error(`the job launcher at ${path} closed the connection`));
      else if (this.closing) this.onClosed?.();
      if (this.closing) return;
      setTimeout(() => {
        if (!this.closing) this.connect(path);
      }, 1000).unref();
    });
  }

  /** The channel is gone: pending launches fail, and supervisors (which outlive it) are watched by pid. */
  private lost(err: Error): void {
    this.channel = null;
    this.servicePid = undefined;
    this.failAll(err);
    for (const waiter of this.exitWaiters.values()) waiter(LAUNCHER_GONE);
    this.exitWaiters.clear();
    if (this.closing) {
      this.onClosed?.();
      return;
    }
    this.onCrash(err);
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
        // A launcher service also reports supervisors started for an earlier connection, which nobody will
        // claim (the agent watches those by pid): keep only the newest. A real early exit is claimed at once.
        if (this.earlyExits.size > EARLY_EXITS_KEPT) this.earlyExits.delete(this.earlyExits.keys().next().value as number);
      }
    }
  }

  launch(request: LaunchRequest): Promise<Launched> {
    const channel = this.channel;
    if (!channel) {
      const where = this.socketPath !== undefined ? `not connected to the job launcher at ${this.socketPath}` : 'job launcher is not running';
      return Promise.reject(new Error(where));
    }
    const req = String(++this.seq);
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      channel.write(encodeLaunch(req, request));
    });
  }

  /** Resolves when the supervisor `pid` (launched by this launcher) has exited, or LAUNCHER_GONE. */
  waitExit(pid: number): Promise<number> {
    if (!this.channel) return Promise.resolve(LAUNCHER_GONE);
    const early = this.earlyExits.get(pid);
    if (early !== undefined) {
      this.earlyExits.delete(pid);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => this.exitWaiters.set(pid, resolve));
  }

  /** The launcher's pid while the agent can reach it (its child's, or what the service announced). */
  get pid(): number | undefined {
    if (!this.channel) return undefined;
    return this.channel.pid ?? this.servicePid;
  }

  /** Ends the agent's side; supervisors keep running (own session), and so does a launcher service. */
  async close(): Promise<void> {
    this.closing = true;
    const channel = this.channel;
    if (!channel) return;
    await new Promise<void>((resolve) => {
      this.onClosed = resolve;
      channel.end();
    });
  }
}
