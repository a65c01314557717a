/**
 * The CA store on disk (`--ca-dir`, default $OUTPOST_HOME/ca, mode 0700):
 *
 *   index.json            issued certificates, defaults, CRL number (0600, replaced atomically)
 *   roots/<T>.crt|.key    root certificates; keys as encrypted PKCS#8 (AES-256, PBKDF2-SHA256)
 *   certs/<T>.crt         issued and imported certificates
 *   keys/<T>.key          private keys the store holds (0600); CSR-signed certificates have none
 *   crl.pem               the newest CRL of the default root
 *
 * <T> is the SHA-256 thumbprint. Every change to index.json happens under `withFileLock`, re-reading the
 * index inside the lock, so two commands running at once neither lose an entry nor reuse a serial.
 */
import { readFile, stat, mkdir, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic, withFileLock } from '../core/fs-atomic.js';
import { caError } from './errors.js';
import { PROFILES } from './profiles.js';
import { REVOCATION_REASONS } from './reasons.js';

export function defaultCaDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.OUTPOST_HOME || join(homedir(), '.outpost'), 'ca');
}

const recordSchema = z
  .object({
    thumbprint: z.string().regex(/^[0-9A-F]{64}$/),
    sha1: z.string().regex(/^[0-9A-F]{40}$/),
    serial: z.string().regex(/^[0-9A-F]+$/),
    subject: z.string(),
    profile: z.enum(PROFILES),
    /** Thumbprint of the issuing root (its own for a root). */
    issuer: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    sans: z.array(z.string()),
    status: z.enum(['valid', 'revoked']),
    revokedAt: z.string().optional(),
    reason: z.enum(Object.keys(REVOCATION_REASONS) as [keyof typeof REVOCATION_REASONS]).optional(),
    hasKey: z.boolean(),
    /** How the entry came to be: issued here, signed from a CSR, imported, or only recorded (from export-root). */
    origin: z.enum(['init', 'issued', 'signed', 'imported', 'import-root', 'record']),
    createdAt: z.string(),
    renewedFrom: z.string().optional(),
  })
  .strict();

const indexSchema = z
  .object({
    version: z.literal(1),
    defaultRoot: z.string().nullable(),
    defaultConnector: z.string().nullable(),
    crlNumber: z.number().int().nonnegative(),
    certificates: z.array(recordSchema),
  })
  .strict();

export type CertRecord = z.infer<typeof recordSchema>;
export type StoreIndex = z.infer<typeof indexSchema>;

export const emptyIndex = (): StoreIndex => ({ version: 1, defaultRoot: null, defaultConnector: null, crlNumber: 0, certificates: [] });

export class CaStore {
  constructor(readonly dir: string) {}

  get indexPath(): string {
    return join(this.dir, 'index.json');
  }
  get crlPath(): string {
    return join(this.dir, 'crl.pem');
  }
  rootCertPath(t: string): string {
    return join(this.dir, 'roots', `${t}.crt`);
  }
  rootKeyPath(t: string): string {
    return join(this.dir, 'roots', `${t}.key`);
  }
  certPath(t: string): string {
    return join(this.dir, 'certs', `${t}.crt`);
  }
  keyPath(t: string): string {
    return join(this.dir, 'keys', `${t}.key`);
  }

  /** Creates the directory tree (0700) if needed; refuses a store others can read. */
  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const sub of ['roots', 'certs', 'keys']) await mkdir(join(this.dir, sub), { recursive: true, mode: 0o700 });
    await this.checkPermissions();
  }

  async exists(): Promise<boolean> {
    return stat(this.indexPath).then(
      () => true,
      () => false,
    );
  }

  async checkPermissions(): Promise<void> {
    const s = await stat(this.dir).catch(() => undefined);
    if (!s) throw caError('CA_STORE_NOT_FOUND', `no CA store at ${this.dir}`);
    if ((s.mode & 0o077) !== 0) {
      throw caError('CA_STORE_INSECURE', `${this.dir} has mode ${(s.mode & 0o777).toString(8)}; the CA store must be 0700`);
    }
  }

  async readIndex(): Promise<StoreIndex> {
    let text: string;
    try {
      text = await readFile(this.indexPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw caError('CA_STORE_NOT_FOUND', `no CA store at ${this.dir} (index.json missing)`);
      }
      throw caError('CA_STORE_CORRUPT', `cannot read ${this.indexPath}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw caError('CA_STORE_CORRUPT', `${this.indexPath} is not valid JSON`, { cause: err });
    }
    const result = indexSchema.safeParse(parsed);
    if (!result.success) {
      const where = result.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
      throw caError('CA_STORE_CORRUPT', `${this.indexPath} is not a valid CA index (at ${where})`);
    }
    return result.data;
  }

  /** The opened store: permissions checked and an index present. */
  async open(): Promise<StoreIndex> {
    await this.checkPermissions();
    return this.readIndex();
  }

  /**
   * Read-modify-write of the index under the store lock. `fn` sees the newest index and may write other
   * files first; the index is replaced last, so a crash leaves at worst an unreferenced file.
   */
  async update<T>(fn: (index: StoreIndex) => Promise<T>, options: { create?: boolean } = {}): Promise<T> {
    if (options.create) await this.ensure();
    else await this.checkPermissions();
    return withFileLock(this.indexPath, async () => {
      const index = options.create && !(await this.exists()) ? emptyIndex() : await this.readIndex();
      const result = await fn(index);
      await writeFileAtomic(this.indexPath, `${JSON.stringify(indexSchema.parse(index), null, 2)}\n`, { mode: 0o600 });
      return result;
    });
  }

  async readText(path: string): Promise<string> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw caError('CA_STORE_CORRUPT', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  async writePublic(path: string, data: string): Promise<void> {
    await writeFileAtomic(path, data, { mode: 0o644 });
  }

  async writePrivate(path: string, data: string): Promise<void> {
    await writeFileAtomic(path, data, { mode: 0o600 });
    await chmod(path, 0o600);
  }
}

/** Finds a record by thumbprint (canonical) or serial (canonical); undefined when unknown. */
export function findRecord(index: StoreIndex, key: { thumbprint?: string | undefined; serial?: string | undefined }): CertRecord | undefined {
  return index.certificates.find((c) => (key.thumbprint !== undefined && c.thumbprint === key.thumbprint) || (key.serial !== undefined && c.serial === key.serial));
}
