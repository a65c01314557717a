/**
 * The credential store (JS7's principle: jobs carry a key, never a password). One JSON file, mode 0600,
 * owned by the agent user; a store that others can read is refused rather than used. Implements the
 * CredentialResolver the SSH executor consumes.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureDir, withFileLock, writeFileAtomic } from '../core/fs-atomic.js';
import { agentError } from './errors.js';
import type { CredentialResolver, ResolvedCredential } from './executors/ssh/index.js';

interface StoredCredential {
  user: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  createdAt: string;
}

interface StoreFile {
  version: 1;
  credentials: Record<string, StoredCredential>;
}

export interface CredentialSummary {
  key: string;
  user: string;
  kind: 'password' | 'privateKey';
  createdAt: string;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(@[A-Za-z0-9][A-Za-z0-9.-]{0,252})?$/;

export function checkCredentialKey(key: string): string {
  if (!KEY.test(key)) throw agentError('AGENT_CREDENTIAL_BAD_KEY', `unsupported character in credential key: '${key}'`);
  return key;
}

/** JS7 COM-80020009: `DOMAIN\user` is refused with the advice to use the user principal name. */
export function checkCredentialUser(user: string): string {
  if (user.includes('\\')) {
    const [domain, name] = user.split('\\', 2);
    throw agentError(
      'AGENT_CREDENTIAL_BAD_USER',
      `unsupported character in user name: '${user}'; for domain users give the user principal name, e.g. ${name || 'user'}@${domain || 'DOMAIN'}`,
    );
  }
  if (!USER.test(user)) throw agentError('AGENT_CREDENTIAL_BAD_USER', `unsupported character in user name: '${user}'`);
  return user;
}

export class CredentialStore implements CredentialResolver {
  private cache: { mtimeMs: number; data: StoreFile } | null = null;

  constructor(readonly path: string) {}

  private async read(): Promise<StoreFile> {
    let info;
    try {
      info = await stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, credentials: {} };
      throw err;
    }
    if ((info.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && info.uid !== process.getuid())) {
      throw agentError(
        'AGENT_CREDENTIAL_STORE_INSECURE',
        `${this.path} has mode ${(info.mode & 0o777).toString(8)} and owner uid ${info.uid}; it must be 600 and owned by the agent user`,
      );
    }
    if (this.cache && this.cache.mtimeMs === info.mtimeMs) return this.cache.data;
    let data: StoreFile;
    try {
      data = JSON.parse(await readFile(this.path, 'utf8')) as StoreFile;
      if (data.version !== 1 || typeof data.credentials !== 'object') throw new Error('unknown format');
    } catch (err) {
      throw agentError('AGENT_CREDENTIAL_STORE_INSECURE', `${this.path} is not a valid credential store: ${(err as Error).message}`, { cause: err });
    }
    this.cache = { mtimeMs: info.mtimeMs, data };
    return data;
  }

  private async update(fn: (data: StoreFile) => void): Promise<void> {
    await ensureDir(dirname(this.path));
    await withFileLock(this.path, async () => {
      this.cache = null;
      const data = await this.read();
      fn(data);
      await writeFileAtomic(this.path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
      this.cache = null;
    });
  }

  async add(key: string, cred: Omit<StoredCredential, 'createdAt'>, replace = false): Promise<void> {
    checkCredentialKey(key);
    checkCredentialUser(cred.user);
    if ((cred.password === undefined) === (cred.privateKey === undefined)) {
      throw agentError('AGENT_CREDENTIAL_SECRET_MISSING', 'give exactly one of a password or a private key');
    }
    await this.update((data) => {
      if (data.credentials[key] && !replace) throw agentError('AGENT_CREDENTIAL_EXISTS', `credential ${key} already exists`);
      data.credentials[key] = { ...cred, createdAt: new Date().toISOString() };
    });
  }

  async remove(key: string): Promise<void> {
    checkCredentialKey(key);
    await this.update((data) => {
      if (!data.credentials[key]) throw agentError('AGENT_CREDENTIAL_UNKNOWN', `no credential with key ${key}`);
      delete data.credentials[key];
    });
  }

  /** Never includes secrets. */
  async list(): Promise<CredentialSummary[]> {
    const data = await this.read();
    return Object.entries(data.credentials)
      .map(([key, c]) => ({ key, user: c.user, kind: c.privateKey !== undefined ? ('privateKey' as const) : ('password' as const), createdAt: c.createdAt }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  async has(key: string): Promise<boolean> {
    return KEY.test(key) && (await this.read()).credentials[key] !== undefined;
  }

  /** A password credential's password, for a job's secretEnv; private keys are not handed to jobs. */
  async secretValue(key: string): Promise<string> {
    const c = await this.resolve(key);
    if (c.password === undefined) {
      throw agentError('AGENT_SECRET_ENV_NOT_PASSWORD', `credential ${key} holds a private key; secretEnv takes password credentials only`);
    }
    return c.password;
  }

  async resolve(key: string): Promise<ResolvedCredential> {
    const c = KEY.test(key) ? (await this.read()).credentials[key] : undefined;
    if (!c) {
      throw agentError('AGENT_CREDENTIAL_UNKNOWN', `no credential with key ${key} in ${this.path} (added by another user, or misspelt?)`);
    }
    return {
      key,
      user: c.user,
      ...(c.password !== undefined ? { password: c.password } : {}),
      ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
      ...(c.passphrase !== undefined ? { passphrase: c.passphrase } : {}),
    };
  }
}
