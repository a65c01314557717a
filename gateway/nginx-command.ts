/** `outpost gateway nginx-config`: reads what the pure renderer needs, renders, writes or prints. */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, ensureDir } from '../core/fs-atomic.js';
import { loadGatewayConfig } from './config.js';
import { compilePolicy } from './policy.js';
import { renderNginxConfig } from './nginx.js';
import { securityHeaders } from './security-headers.js';
import { gatewayError } from './errors.js';

export const NGINX_FILE = 'outpost-gateway.conf';

export async function writeNginxConfig(opts: { config: string; out?: string; clientCert?: string[]; accessLog?: string }): Promise<string> {
  const config = await loadGatewayConfig(opts.config);
  compilePolicy(config.access, { requireClientCert: config.tls.requireClientCert }); // same validation as start
  const sha1ByThumbprint = new Map<string, string>();
  for (const file of opts.clientCert ?? []) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(await readFile(file));
    } catch (err) {
      throw gatewayError('GATEWAY_TLS_FILE_UNREADABLE', `--client-cert ${file}: ${(err as Error).message}`, { cause: err });
    }
    sha1ByThumbprint.set(cert.fingerprint256.replace(/:/g, ''), cert.fingerprint.replace(/:/g, '').toLowerCase());
  }
  let secret: string | undefined;
  if ('secretFile' in config.upstream) {
    secret = (await readFile(config.upstream.secretFile, 'utf8').catch((err: unknown) => {
      throw gatewayError('GATEWAY_SECRET_UNREADABLE', `upstream.secretFile ${(config.upstream as { secretFile: string }).secretFile}`, { cause: err });
    })).trim();
  }
  const accessLog = opts.accessLog ?? (config.auditLog === '-' ? '/dev/stderr' : config.auditLog);
  const text = renderNginxConfig({ config, sha1ByThumbprint, ...(secret ? { secret } : {}), accessLog, securityHeaders: securityHeaders().list });
  if (!opts.out) {
    process.stdout.write(text);
    return text;
  }
  await ensureDir(opts.out, 0o755);
  const path = join(opts.out, NGINX_FILE);
  // With an upstream secret inside, the file is as private as the secret file.
  await writeFileAtomic(path, text, { mode: secret ? 0o600 : 0o644 });
  process.stdout.write(`wrote ${path}\n`);
  return path;
}
