/**
 * The gateway's admin surface, served by the gateway itself and never forwarded to the agent:
 *
 *   GET  /v1/gateway/tls          serving certificate, CA, CRL, pending key
 *   POST /v1/gateway/csr          make a new key here (0600, kept pending) and return a CSR for our names
 *   PUT  /v1/gateway/certificate  install a certificate for the pending key (PEM chain in the body)
 *   PUT  /v1/gateway/crl          install a newer CRL of our CA (PEM in the body)
 *
 * Only a connection that an `admin: true` rule admits may call them; every call is audited with the
 * caller's subject and thumbprint. The private key is made here and never leaves this host; the master
 * only ever sees the CSR. Changes run one at a time, and a change that does not load leaves the previous
 * files in place. Loaded on the first admin request, so a gateway that is never rotated does not load forge.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { LogSink } from '../../core/lazy-logger.js';
import { writeFileAtomic } from '../../core/fs-atomic.js';
import { OutpostError } from '../../core/errors.js';
import { generateKey, privateKeyPem, keySpecOf } from '../../ca/keys.js';
import { buildCsr } from '../../ca/csr.js';
import { parseSans } from '../../ca/profiles.js';
import { isoNow, type AuditLog } from '../audit.js';
import { connectionState, type PolicyHolder } from '../connection-guard.js';
import type { GatewayConfig } from '../config.js';
import type { TlsMaterial } from '../tls.js';
import type { SecurityHeaders } from '../security-headers.js';
import { gatewayError } from '../errors.js';
import { certFacts, certificatesIn, commonNameOf, crlFacts, keyTypeOf, publicKeySha256, type TlsFacts } from './tls-facts.js';
import { checkOfferedCertificate, checkOfferedCrl } from './offer-checks.js';
import { hasPrevious, installPair, readPendingKey, restorePrevious, writePendingKey } from './rotation-files.js';

export interface AdminDeps {
  holder: PolicyHolder;
  audit: AuditLog;
  logger: LogSink;
  security: SecurityHeaders;
  tls(): Readonly<GatewayConfig['tls']>;
  material(): TlsMaterial;
  /** Loads the TLS files again and hands them to the listener (setSecureContext); throws if they do not load. */
  applyTls(): Promise<void>;
  /** Set once a new pair is installed; the server drops the .previous files at the next handshake. */
  rotation: { previousRetained: boolean };
}

const MAX_BODY = 64 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(gatewayError('GATEWAY_ADMIN_BAD_REQUEST', `the body is larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

const asText = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : '');

export function createAdminRoutes(deps: AdminDeps): { handle(req: IncomingMessage, res: ServerResponse): void } {
  let queue: Promise<unknown> = Promise.resolve();
  /** One change at a time: two rotations at once must not interleave their file writes. */
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  function cas(): X509Certificate[] {
    return certificatesIn(asText(deps.material().options.ca));
  }

  async function facts(): Promise<TlsFacts> {
    const m = deps.material();
    const leaf = certificatesIn(asText(m.options.cert))[0];
    if (!leaf) throw gatewayError('GATEWAY_INTERNAL', 'the serving certificate cannot be read');
    const pending = await readPendingKey(deps.tls());
    const crl = m.options.crl === undefined ? null : crlFacts(asText(m.options.crl), cas());
    return {
      certificate: certFacts(leaf),
      ca: cas().map(certFacts),
      crl,
      pending: pending ? { keyType: keyTypeOf(pending.key), publicKeySha256: publicKeySha256(pending.key), createdAt: pending.createdAt.toISOString() } : null,
      previousRetained: deps.rotation.previousRetained || (await hasPrevious(deps.tls())),
    };
  }

  async function makeCsr(): Promise<Record<string, unknown>> {
    const leaf = certificatesIn(asText(deps.material().options.cert))[0];
    if (!leaf) throw gatewayError('GATEWAY_INTERNAL', 'the serving certificate cannot be read');
    const type = keyTypeOf(leaf.publicKey);
    // The new key is of the serving key's type: an EC gateway stays EC, so its clients see no change.
    const spec = keySpecOf(leaf.publicKey);
    if (!spec) throw gatewayError('GATEWAY_ADMIN_BAD_REQUEST', `the gateway's key is ${type}; only RSA (2048, 3072, 4096) and EC (P-256, P-384) keys can be rotated here`);
    const key = await generateKey(spec);
    const commonName = commonNameOf(leaf);
    const { sans } = parseSans(certFacts(leaf).sans);
    const csr = buildCsr(commonName, sans, key.privateKey);
    await writePendingKey(deps.tls(), privateKeyPem(key.privateKey));
    return { csr, keyType: type, publicKeySha256: publicKeySha256(key.publicKey), commonName, sans: sans.map((s) => `${s.type}:${s.value}`) };
  }

  async function installCertificate(pem: string): Promise<TlsFacts> {
    const tls = deps.tls();
    const pending = await readPendingKey(tls);
    if (!pending) throw gatewayError('GATEWAY_NO_PENDING_KEY', 'no pending key: POST /v1/gateway/csr first (outpost ca rotate does the whole sequence)');
    const checked = checkOfferedCertificate(pem, pending.key, cas());
    if ('code' in checked) throw gatewayError(checked.code, checked.message);
    const chain = certificatesIn(pem).map((c) => c.toString()).join('');
    try {
      await installPair(tls, chain);
      await deps.applyTls();
    } catch (err) {
      await restorePrevious(tls).catch(() => undefined);
      await deps.applyTls().catch(() => undefined);
      throw gatewayError('GATEWAY_ROTATION_FAILED', 'the new certificate could not be installed; the previous one is still served', { cause: err });
    }
    deps.rotation.previousRetained = true;
    deps.logger.info('installed a new gateway certificate', { serial: checked.leaf.serialNumber, notAfter: new Date(checked.leaf.validTo).toISOString() });
    return facts();
  }

  async function installCrl(pem: string): Promise<TlsFacts> {
    const tls = deps.tls();
    if (tls.crl === undefined) throw gatewayError('GATEWAY_CRL_NOT_CONFIGURED', 'gateway.yaml has no tls.crl to keep a CRL in');
    const current = deps.material().options.crl;
    const currentNumber = current === undefined ? null : crlFacts(asText(current), cas()).crlNumber;
    const checked = checkOfferedCrl(pem, cas(), currentNumber);
    if ('code' in checked) throw gatewayError(checked.code, checked.message);
    const before = await readFile(tls.crl).catch(() => undefined);
    try {
      await writeFileAtomic(tls.crl, pem, { mode: 0o644 });
      await deps.applyTls();
    } catch (err) {
      if (before) await writeFileAtomic(tls.crl, before, { mode: 0o644 }).catch(() => undefined);
      await deps.applyTls().catch(() => undefined);
      throw gatewayError('GATEWAY_ROTATION_FAILED', 'the new CRL could not be installed; the previous one is still served', { cause: err });
    }
    deps.logger.info('installed a new CRL', { crlNumber: checked.facts.crlNumber, nextUpdate: checked.facts.nextUpdate });
    return facts();
  }

  function route(method: string, path: string): ((body: string) => Promise<unknown>) | undefined {
    if (method === 'GET' && path === '/v1/gateway/tls') return () => facts();
    if (method === 'POST' && path === '/v1/gateway/csr') return () => serialized(makeCsr);
    if (method === 'PUT' && path === '/v1/gateway/certificate') return (body) => serialized(() => installCertificate(body));
    if (method === 'PUT' && path === '/v1/gateway/crl') return (body) => serialized(() => installCrl(body));
    return undefined;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const state = connectionState(req.socket);
    if (!state) {
      // Only reachable if the TLS choke point was bypassed.
      req.socket.destroy();
      return;
    }
    const method = req.method ?? '';
    const path = (req.url ?? '').split('?')[0] ?? '';
    const rule = deps.holder.policy.matchAdmin(state.facts);
    const send = (status: number, body: unknown, code: string | null): void => {
      const text = JSON.stringify(body);
      if (code !== null) res.shouldKeepAlive = false;
      res.writeHead(status, [...deps.security.list, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(text)), 'cache-control', 'no-store']);
      res.end(text);
      deps.audit.write({
        time: isoNow(), kind: 'request', src: state.sourceIp, subject: state.subject ?? null, thumbprint: state.facts.thumbprint ?? null,
        method, path, status, bytes: Buffer.byteLength(text), durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        decision: code === null ? 'allow' : 'deny', rule: rule?.name ?? null, reason: code === null ? null : code.replace(/^GATEWAY_/, ''),
      });
    };
    const fail = (err: unknown): void => {
      if (err instanceof OutpostError && err.code.startsWith('GATEWAY_') && err.status < 500) {
        send(err.status, { error: { code: err.code, message: err.message } }, err.code);
        return;
      }
      const e = err instanceof OutpostError ? err : gatewayError('GATEWAY_INTERNAL', 'admin request failed', { cause: err });
      deps.logger.error('admin request failed', { path, code: e.code, err: e.message, cause: (e.cause as Error | undefined)?.message });
      send(e.status, { error: { code: e.code, message: e.message } }, e.code);
    };
    if (!rule) {
      req.resume();
      fail(gatewayError('GATEWAY_ADMIN_NOT_ALLOWED', 'this client is not admitted by an admin rule'));
      return;
    }
    const handler = route(method, path);
    if (!handler) {
      req.resume();
      fail(gatewayError('GATEWAY_ADMIN_ROUTE_UNKNOWN', `no admin route ${method} ${path}`));
      return;
    }
    (method === 'PUT' ? readBody(req) : (req.resume(), Promise.resolve('')))
      .then(handler)
      .then((body) => send(200, body, null))
      .catch(fail);
  }

  return { handle };
}
