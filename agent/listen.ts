/**
 * Opening the agent's listener: a Unix socket with mode 0660 and the gateway's group (preferred), or a
 * loopback TCP port guarded by a shared secret file. Everything that can be wrong fails at start.
 */
import { chmod, chown, lstat, readFile, stat, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import type { AgentConfig } from './config.js';
import { agentError } from './errors.js';

export async function groupId(name: string): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  const text = await readFile('/etc/group', 'utf8');
  for (const line of text.split('\n')) {
    const [g, , gid] = line.split(':');
    if (g === name && gid !== undefined) return Number(gid);
  }
  throw agentError('AGENT_LISTEN_FAILED', `listen.group ${name} does not exist (not in /etc/group)`);
}

/** The secret must be private to the agent user and the gateway's group: no bits for others. */
export async function readSecretFile(path: string): Promise<string> {
  let info;
  let text: string;
  try {
    info = await stat(path);
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw agentError('AGENT_SECRET_UNREADABLE', `cannot read listen.secretFile ${path}: ${(err as NodeJS.ErrnoException).code}`, { cause: err });
  }
  if ((info.mode & 0o007) !== 0) {
    throw agentError('AGENT_SECRET_UNREADABLE', `${path} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); chmod 640 it`);
  }
  if (text.length < 32) throw agentError('AGENT_SECRET_UNREADABLE', `${path} holds ${text.length} characters; use at least 32`);
  return text;
}

/** A socket file left by a crashed agent is removed; one that still answers means another agent runs. */
async function clearStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => null);
  if (!info) return;
  if (!info.isSocket()) throw agentError('AGENT_LISTEN_FAILED', `${path} exists and is not a socket; remove it or choose another listen.socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (alive) throw agentError('AGENT_LISTEN_FAILED', `another process is listening on ${path}`);
  await unlink(path);
}

export async function listen(server: Server, listenConfig: AgentConfig['listen']): Promise<string> {
  const fail = (err: unknown, where: string): never => {
    throw agentError('AGENT_LISTEN_FAILED', `cannot listen on ${where}: ${(err as Error).message}`, { cause: err });
  };
  const bind = (arg: string | { host: string; port: number }): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      if (typeof arg === 'string') server.listen(arg, () => (server.off('error', reject), resolve()));
      else server.listen(arg.port, arg.host, () => (server.off('error', reject), resolve()));
    });
  if ('socket' in listenConfig) {
    const path = listenConfig.socket;
    await clearStaleSocket(path);
    const gid = listenConfig.group !== undefined ? await groupId(listenConfig.group) : undefined;
    // Tighten the umask while binding so the socket is never briefly open to everyone.
    const old = process.umask(0o177);
    try {
      await bind(path);
    } catch (err) {
      fail(err, path);
    } finally {
      process.umask(old);
    }
    try {
      if (gid !== undefined) await chown(path, -1, gid);
      await chmod(path, listenConfig.mode);
    } catch (err) {
      server.close();
      fail(err, `${path} (setting group/mode)`);
    }
    return `unix:${path}`;
  }
  try {
    await bind({ host: listenConfig.host, port: listenConfig.port });
  } catch (err) {
    fail(err, `${listenConfig.host}:${listenConfig.port}`);
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listenConfig.port;
  const host = listenConfig.host.includes(':') ? `[${listenConfig.host}]` : listenConfig.host;
  return `http://${host}:${port}`;
}
