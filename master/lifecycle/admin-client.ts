/**
 * The master's client for a gateway's admin surface (/v1/gateway/…), over the same mutual TLS as job
 * requests. The master dials; the gateway never does. Failures become the MASTER_* errors of client.ts,
 * keeping the gateway's own code (GATEWAY_CRL_NOT_NEWER, …) in `details.upstreamCode`.
 */
import { Pool } from 'undici';
import { httpError, tlsConnectOptions, transportError } from '../client.js';
import { masterError } from '../errors.js';
import type { TlsCredentials } from '../credentials.js';
import type { TlsFacts } from '../../core/gateway-admin-wire.js';

/** What a gateway answers about its TLS material (one definition with the gateway's side). */
export type GatewayTls = TlsFacts;

export interface CsrAnswer {
  csr: string;
  keyType: string;
  publicKeySha256: string;
  commonName: string;
  sans: string[];
}

export class GatewayAdminClient {
  readonly url: string;
  readonly #pool: Pool;
  readonly #base: string;
  readonly #timeoutMs: number;

  constructor(url: string, creds: TlsCredentials, options: { requestTimeoutMs?: number } = {}) {
    this.url = url;
    const u = new URL(url);
    this.#base = u.pathname.replace(/\/+$/, '');
    this.#timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#pool = new Pool(u.origin, {
      connections: 1,
      // A fresh connection per call: after a rotation the next call must see the new certificate.
      pipelining: 0,
      connect: tlsConnectOptions(u, creds),
    });
  }

  async #call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: string): Promise<T> {
    let text: string;
    let status: number;
    let retryAfter: string | undefined;
    try {
      const res = await this.#pool.request({
        method,
        path: `${this.#base}${path}`,
        headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/x-pem-file' } : {}) },
        ...(body !== undefined ? { body } : method === 'POST' ? { body: '' } : {}),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        reset: true,
      });
      status = res.statusCode;
      const ra = res.headers['retry-after'];
      retryAfter = Array.isArray(ra) ? ra[0] : ra;
      text = await res.body.text();
    } catch (err) {
      throw transportError(err, this.url);
    }
    if (status >= 400) throw httpError(status, text, this.url, retryAfter);
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw masterError('MASTER_AGENT_ERROR', `${this.url}${path}: answer is not JSON (${text.slice(0, 80)})`, { cause: err });
    }
  }

  tls(): Promise<GatewayTls> {
    return this.#call('GET', '/v1/gateway/tls');
  }

  csr(): Promise<CsrAnswer> {
    return this.#call('POST', '/v1/gateway/csr');
  }

  installCertificate(chainPem: string): Promise<GatewayTls> {
    return this.#call('PUT', '/v1/gateway/certificate', chainPem);
  }

  installCrl(crlPem: string): Promise<GatewayTls> {
    return this.#call('PUT', '/v1/gateway/crl', crlPem);
  }

  close(): Promise<void> {
    return this.#pool.close().catch(() => undefined);
  }
}

/** The gateway's own error code behind a MASTER_* error, when it sent one. */
export function upstreamCode(err: unknown): string | undefined {
  return (err as { details?: { upstreamCode?: string } }).details?.upstreamCode;
}
