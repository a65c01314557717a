/**
 * SSH connections to one target and login, shared by all its jobs: exec channels are multiplexed on a
 * connection up to sshd's MaxSessions, further connections open when all are full (up to a cap), and a
 * connection that dies is dropped so the next exec dials again. Keep-alives find dead links; TCP_NODELAY
 * avoids Nagle + delayed-ACK stalls (~40 ms) on every small exec round trip.
 */
import type { Socket } from 'node:net';
import { Client, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import type { Logger } from '../../../core/logger.js';
import type { OutpostError } from '../../../core/errors.js';
import { agentError } from '../../errors.js';
import type { HostKeyPolicy, HostKeyVerdict } from './host-key.js';
import { AuthMethods, type Login } from './auth-methods.js';
import { classifyConnectError } from './connect-error.js';
import { REDIAL_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.js';

export type { Login } from './auth-methods.js';

/**
 * ssh2 writes every packet with its own socket.write: answering one incoming read (a channel confirmation,
 * exit status, EOF, close, window adjust) costs several syscalls and several TCP segments for sshd to read.
 * Corking the socket while ssh2 handles a read and uncorking on the next tick sends them in one writev.
 */
function coalesceReplies(client: Client): void {
  const sock = (client as unknown as { _sock?: Socket })._sock;
  if (!sock) return;
  const uncork = (): void => sock.uncork();
  sock.prependListener('data', () => {
    sock.cork();
    process.nextTick(uncork);
  });
}

export interface PoolOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Always present: a pool cannot be made without a host key policy. */
  readonly hostKeys: HostKeyPolicy;
  /** Resolved at every dial, so a rotated credential takes effect on the next connection. */
  readonly login: () => Promise<Login>;
  readonly maxSessions: number;
  readonly maxConnections: number;
  readonly logger: Logger;
  readonly onConnect: () => void;
  readonly onError: (err: OutpostError) => void;
  /** Redials after dropped connections; REDIAL_BACKOFF by default (tests shorten it). */
  readonly backoff?: BackoffPolicy;
}

export interface ExecOptions {
  readonly stdin?: string;
  /** Called per stdout chunk; the channel is paused until the returned promise settles. */
  readonly onStdout?: (chunk: Buffer) => Promise<void> | void;
  /** Called per stderr chunk as it arrives (the wrapper's status lines). */
  readonly onStderr?: (text: string) => void;
  /** Close the channel after this long (the remote side keeps running); the result says `cut`. */
  readonly maxMs?: number;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  /** The channel was closed by us after `maxMs`, not by the remote command ending. */
  readonly cut: boolean;
}

interface Connection {
  readonly client: Client;
  readonly ready: Promise<void>;
  active: number;
  limit: number;
  dead: boolean;
}

export class SshPool {
  private readonly connections = new Set<Connection>();
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  private readonly auth: AuthMethods;

  constructor(private readonly options: PoolOptions) {
    this.auth = new AuthMethods(() => this.where);
  }

  private get where(): string {
    return `process server ${this.options.name} (${this.options.host}:${this.options.port})`;
  }

  private dial(): Connection {
    const { options } = this;
    const client = new Client();
    // Every exec channel listens for the connection's close; hundreds may be open.
    client.setMaxListeners(0);
    let verdict: HostKeyVerdict | undefined;
    let presented: Buffer | undefined;
    const conn: Connection = {
      client,
      active: 0,
      limit: options.maxSessions,
      dead: false,
      ready: (async () => {
        const login = await options.login();
        await new Promise<void>((resolve, reject) => {
          const config: ConnectConfig = {
            host: options.host,
            port: options.port,
            username: login.username,
            authHandler: this.auth.for(login),
            // The verifier is unconditional: ssh2 would accept any key without one.
            hostVerifier: (key: Buffer) => {
              presented = key;
              verdict = options.hostKeys.check(key);
              return verdict === 'ok';
            },
            algorithms: { serverHostKey: [...options.hostKeys.algorithms] as ServerHostKeyAlgorithm[] },
            keepaliveInterval: 10_000,
            keepaliveCountMax: 3,
            readyTimeout: 15_000,
          };
          client.once('ready', () => {
            options.onConnect();
            // A link that dies later (keep-alive timeout, reset) makes the target unreachable until a redial works.
            client.on('error', (err) => {
              if (!this.closed) options.onError(agentError('AGENT_SSH_HOST_UNREACHABLE', `${this.where}: connection lost: ${err.message}`, { cause: err }));
            });
            resolve();
          });
          client.on('connect', () => {
            client.setNoDelay(true);
            coalesceReplies(client);
          });
          client.once('error', (err) => reject(classifyConnectError(err, verdict, this.where, presented)));
          client.on('error', () => undefined);
          client.once('close', () => {
            conn.dead = true;
            this.connections.delete(conn);
            reject(agentError('AGENT_SSH_HOST_UNREACHABLE', `${this.where} closed the connection before it was ready`));
            this.wake();
          });
          client.connect(config);
        });
      })(),
    };
    conn.ready.catch((err: OutpostError) => {
      conn.dead = true;
      this.connections.delete(conn);
      options.onError(err);
      client.end();
      this.wake();
    });
    this.connections.add(conn);
    return conn;
  }

  private wake(): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter();
  }

  /** A connection with a free session slot, dialling a new one when all are full. */
  private async acquire(): Promise<Connection> {
    for (;;) {
      if (this.closed) throw agentError('AGENT_SSH_HOST_UNREACHABLE', `${this.where}: the executor is closed`);
      let conn: Connection | undefined;
      for (const c of this.connections) if (!c.dead && c.active < c.limit) conn = c;
      if (!conn && this.connections.size < this.options.maxConnections) conn = this.dial();
      if (conn) {
        conn.active++;
        try {
          await conn.ready;
          return conn;
        } catch (err) {
          conn.active--;
          throw err;
        }
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private release(conn: Connection): void {
    conn.active--;
    this.wake();
  }

  private openChannel(conn: Connection, command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      try {
        conn.client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  /**
   * A channel running `command` on a pooled connection, holding one of its session slots. A connection
   * that dies while the channel opens is redialled with backoff (backoff.ts), then given up on with
   * AGENT_SSH_UNREACHABLE: a target that drops every session must not cost a redial loop.
   */
  private async open(command: string): Promise<{ conn: Connection; channel: ClientChannel }> {
    const startedAt = Date.now();
    for (let drops = 0; ; ) {
      const conn = await this.acquire();
      try {
        return { conn, channel: await this.openChannel(conn, command) };
      } catch (err) {
        this.release(conn);
        if (conn.dead) {
          const wait = backoffDelay(this.options.backoff ?? REDIAL_BACKOFF, drops++, Math.random());
          if (wait === null) {
            throw agentError(
              'AGENT_SSH_UNREACHABLE',
              `${this.where} closed the connection ${drops} times while a session was being opened; gave up after ${Math.round((Date.now() - startedAt) / 1000)} s (see the target's sshd log)`,
              { cause: err },
            );
          }
          this.options.logger.warn('ssh connection dropped while opening a session; redialling', { server: this.options.name, attempt: drops, waitMs: wait });
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        // sshd refuses channels beyond MaxSessions: remember the real limit and queue instead.
        if (/open failed|prohibited/i.test((err as Error).message) && conn.active > 0) {
          conn.limit = Math.max(1, conn.active);
          this.options.logger.debug('ssh session limit reached; lowering', { server: this.options.name, limit: conn.limit });
          continue;
        }
        throw agentError('AGENT_SSH_HOST_UNREACHABLE', `${this.where}: cannot open a session: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Runs one command on a pooled connection; rejects with AGENT_SSH_* when the link fails. */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { conn, channel } = await this.open(command);
    try {
      return await this.runChannel(conn, channel, options);
    } finally {
      this.release(conn);
    }
  }

  /**
   * A long-lived channel (the remote launcher) that keeps its session slot until it closes. It also
   * emits 'close' when its connection dies, so its owner needs no other signal.
   */
  async session(command: string): Promise<ClientChannel> {
    const { conn, channel } = await this.open(command);
    const onClientClose = (): void => {
      channel.emit('close');
    };
    conn.client.once('close', onClientClose);
    channel.once('close', () => {
      conn.client.removeListener('close', onClientClose);
      this.release(conn);
    });
    return channel;
  }

  private runChannel(conn: Connection, channel: ClientChannel, options: ExecOptions): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      let code: number | null = null;
      let signal: string | null = null;
      let exited = false;
      let stderr = '';
      let writing: Promise<void> = Promise.resolve();
      let failed: Error | undefined;
      let cut = false;
      const timer = options.maxMs
        ? setTimeout(() => {
            cut = true;
            channel.close();
          }, options.maxMs)
        : undefined;
      channel.on('data', (chunk: Buffer) => {
        if (!options.onStdout) return;
        channel.pause();
        writing = writing
          .then(() => options.onStdout?.(chunk))
          .catch((err: Error) => {
            failed ??= err;
          })
          .finally(() => channel.resume());
      });
      channel.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (stderr.length < 65_536) stderr += text;
        options.onStderr?.(text);
      });
      channel.on('exit', (c: number | null, s?: string) => {
        exited = true;
        code = c;
        signal = s ?? null;
      });
      const onClientClose = (): void => {
        channel.emit('close');
      };
      conn.client.once('close', onClientClose);
      channel.once('close', () => {
        clearTimeout(timer);
        conn.client.removeListener('close', onClientClose);
        void writing.then(() => {
          if (failed) reject(failed);
          else if (!exited && conn.dead) {
            reject(agentError('AGENT_SSH_HOST_UNREACHABLE', `${this.where}: connection lost during a remote command`, { details: { during: 'command' } }));
          } else resolve({ code, signal, stderr, cut: cut && !exited });
        });
      });
      channel.end(options.stdin ?? undefined);
    });
  }

  private shell: Promise<string> | undefined;

  /**
   * The login user's shell as sshd reports it ($SHELL, from the passwd entry), asked once per pool; '' when
   * it cannot be told. A failed probe is not remembered, so the next job asks again.
   */
  loginShell(): Promise<string> {
    this.shell ??= (async () => {
      let out = '';
      await this.exec(`printf 'outpost-shell:%s\\n' "$SHELL"`, { onStdout: (chunk) => void (out += chunk.toString('utf8')) });
      return /^outpost-shell:(\S*)$/m.exec(out)?.[1] ?? '';
    })();
    this.shell.catch(() => (this.shell = undefined));
    return this.shell;
  }

  /** Closes every connection; remote jobs keep running (they are detached). */
  async close(): Promise<void> {
    this.closed = true;
    for (const conn of this.connections) conn.client.end();
    this.connections.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
