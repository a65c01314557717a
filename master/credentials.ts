/**
 * The master's TLS identity: the executor-connector certificate and key, and the CA that issued the
 * gateways' listener certificates. From --cert/--key/--ca or OUTPOST_CERT, OUTPOST_KEY, OUTPOST_CA; PEM or
 * PKCS#12 (password from --password-file, OUTPOST_CERT_PASSWORD or a hidden prompt — never argv).
 * Everything is checked here, before any connection, so a bad file is reported as such and not as a
 * puzzling handshake failure.
 */
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import { readSecret } from '../core/secret-input.js';
import { masterError } from './errors.js';

export interface CredentialOptions {
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
  passwordFile?: string | undefined;
}

export interface TlsCredentials {
  cert?: Buffer;
  key?: Buffer;
  pfx?: Buffer;
  passphrase?: string;
  ca?: Buffer;
  /**
   * Built once and shared by every connection: opening a PKCS#12 runs its key derivation (600,000
   * PBKDF2 rounds for `outpost ca export`), which must not be paid again per connection.
   */
  secureContext: SecureContext;
  /** Where each part came from, for messages (never the secret). */
  source: { cert: string; key: string | null; ca: string | null };
}

export const PASSWORD_ENV = 'OUTPOST_CERT_PASSWORD';

async function readPart(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw masterError('MASTER_CREDENTIALS_UNREADABLE', `cannot read the ${what} ${path} (${code})`, { cause: err });
  }
}

/** Like ssh with an unprotected key: a private key others can read is refused, not used. */
async function checkPrivate(path: string, what: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw masterError('MASTER_CREDENTIALS_UNREADABLE', `the ${what} ${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  }
}

const isPem = (data: Buffer): boolean => data.subarray(0, 200).toString('latin1').includes('-----BEGIN');

function badPassword(err: unknown): boolean {
  return /mac verify|bad decrypt|bad password|unable to load|wrong password|decrypt/i.test(String((err as Error)?.message));
}

export async function loadCredentials(opts: CredentialOptions, env: NodeJS.ProcessEnv = process.env): Promise<TlsCredentials> {
  const certPath = opts.cert ?? env.OUTPOST_CERT;
  const keyPath = opts.key ?? env.OUTPOST_KEY;
  const caPath = opts.ca ?? env.OUTPOST_CA;
  if (!certPath) {
    throw masterError('MASTER_CREDENTIALS_MISSING', 'no client certificate: pass --cert FILE (PEM or .p12) or set OUTPOST_CERT');
  }
  const certData = await readPart(certPath, 'client certificate');
  const ca = caPath ? await readPart(caPath, 'CA bundle') : undefined;
  const source = { cert: certPath, key: keyPath ?? null, ca: caPath ?? null };
  const secret = async (prompt: string): Promise<string> => {
    const file = opts.passwordFile ?? env.OUTPOST_CERT_PASSWORD_FILE;
    if (!file && env[PASSWORD_ENV] !== undefined) return env[PASSWORD_ENV] ?? '';
    return readSecret({ file, envVar: PASSWORD_ENV, prompt });
  };

  if (!isPem(certData)) {
    // PKCS#12: certificate, key and usually the chain in one password-protected file.
    await checkPrivate(certPath, 'PKCS#12 file');
    const passphrase = await secret(`Password for ${certPath}: `);
    let secureContext: SecureContext;
    try {
      secureContext = createSecureContext({ pfx: certData, passphrase, minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) });
    } catch (err) {
      if (badPassword(err)) throw masterError('MASTER_PKCS12_BAD_PASSWORD', `cannot open ${certPath} with the password given`, { cause: err });
      throw masterError('MASTER_CREDENTIALS_UNREADABLE', `${certPath} is neither PEM nor a readable PKCS#12 file (${(err as Error).message})`, { cause: err });
    }
    return { pfx: certData, passphrase, ...(ca ? { ca } : {}), secureContext, source };
  }

  if (!keyPath) {
    throw masterError('MASTER_CREDENTIALS_MISSING', 'a PEM certificate needs its key: pass --key FILE or set OUTPOST_KEY');
  }
  if (!ca) {
    throw masterError('MASTER_CREDENTIALS_MISSING', 'no CA bundle to verify the gateways with: pass --ca FILE or set OUTPOST_CA');
  }
  await checkPrivate(keyPath, 'private key');
  const key = await readPart(keyPath, 'private key');
  const encrypted = key.toString('latin1').includes('ENCRYPTED');
  const passphrase = encrypted ? await secret(`Passphrase for ${keyPath}: `) : undefined;
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({ cert: certData, key, ca, minVersion: 'TLSv1.2', ...(passphrase !== undefined ? { passphrase } : {}) });
  } catch (err) {
    if (encrypted && badPassword(err)) throw masterError('MASTER_PKCS12_BAD_PASSWORD', `cannot decrypt ${keyPath} with the passphrase given`, { cause: err });
    throw masterError('MASTER_CREDENTIALS_UNREADABLE', `${certPath} / ${keyPath} / ${caPath ?? ''} are not a usable certificate, matching key and CA (${(err as Error).message})`, { cause: err });
  }
  return { cert: certData, key, ca, ...(passphrase !== undefined ? { passphrase } : {}), secureContext, source };
}
