/**
 * The per-gateway steps of `outpost ca rotate|publish-crl|fleet|maintain`. Each takes an admin client and
 * what it needs from the CA (a signer, the CRL text) and returns one result row; it never throws, so one
 * bad gateway is reported without stopping the others.
 */
import { upstreamCode, type GatewayAdminClient, type GatewayTls } from './admin-client.js';
import { certificateDue, verdictOf, type Verdict } from './schedule.js';

export interface SignedListener {
  certPem: string;
  serial: string;
  notAfter: string;
}

/** Signs a gateway's CSR as a listener certificate; `currentSpanMs` is the serving certificate's notBefore..notAfter. */
export type ListenerSigner = (csrPem: string, currentSpanMs: number) => Promise<SignedListener>;

export interface RotateRow {
  gateway: string;
  status: 'rotated' | 'skipped' | 'failed';
  serial?: string;
  notAfter?: string;
  code?: string;
  message?: string;
}

export interface RotateWhen {
  /** Rotate only when the certificate expires within this many ms. */
  ifExpiresWithinMs?: number | undefined;
  /** Rotate only past two thirds of the lifetime (maintain). */
  onlyWhenDue?: boolean;
}

function failed(gateway: string, err: unknown): { status: 'failed'; code: string; message: string; gateway: string } {
  const e = err as { code?: string; message?: string };
  return { gateway, status: 'failed', code: upstreamCode(err) ?? e.code ?? 'ERROR', message: e.message ?? String(err) };
}

export async function rotateGateway(client: GatewayAdminClient, sign: ListenerSigner, when: RotateWhen = {}, now = Date.now): Promise<RotateRow> {
  try {
    const facts = await client.tls();
    const cert = facts.certificate;
    if (when.ifExpiresWithinMs !== undefined && Date.parse(cert.notAfter) - now() > when.ifExpiresWithinMs) {
      return { gateway: client.url, status: 'skipped', serial: cert.serial, notAfter: cert.notAfter, message: 'expires later than --if-expires-within' };
    }
    if (when.onlyWhenDue && !certificateDue(cert.notBefore, cert.notAfter, now())) {
      return { gateway: client.url, status: 'skipped', serial: cert.serial, notAfter: cert.notAfter, message: 'less than two thirds of its lifetime gone' };
    }
    const csr = await client.csr();
    const signed = await sign(csr.csr, Date.parse(cert.notAfter) - Date.parse(cert.notBefore));
    const after = await client.installCertificate(signed.certPem);
    if (after.certificate.serial !== signed.serial) throw new Error(`the gateway serves ${after.certificate.serial} after installing ${signed.serial}`);
    return { gateway: client.url, status: 'rotated', serial: signed.serial, notAfter: signed.notAfter };
  } catch (err) {
    return failed(client.url, err);
  }
}

export interface PublishRow {
  gateway: string;
  status: 'published' | 'current' | 'failed';
  crlNumber?: number | null;
  code?: string;
  message?: string;
}

export async function publishCrl(client: GatewayAdminClient, crlPem: string): Promise<PublishRow> {
  try {
    const after = await client.installCrl(crlPem);
    return { gateway: client.url, status: 'published', crlNumber: after.crl?.crlNumber ?? null };
  } catch (err) {
    // The gateway already has this CRL (or a newer one): nothing to do.
    if (upstreamCode(err) === 'GATEWAY_CRL_NOT_NEWER') return { gateway: client.url, status: 'current', message: (err as Error).message };
    return failed(client.url, err);
  }
}

export interface FleetRow {
  gateway: string;
  verdict: Verdict;
  notAfter?: string;
  keyType?: string;
  crlNumber?: number | null;
  crlNextUpdate?: string | null;
  code?: string;
  message?: string;
}

export async function fleetRow(client: GatewayAdminClient, storeCrlNumber: number | undefined, now = Date.now): Promise<{ row: FleetRow; facts?: GatewayTls }> {
  let facts: GatewayTls;
  try {
    facts = await client.tls();
  } catch (err) {
    const f = failed(client.url, err);
    return { row: { gateway: client.url, verdict: 'unreachable', code: f.code, message: f.message } };
  }
  return {
    facts,
    row: {
      gateway: client.url,
      verdict: verdictOf(facts, storeCrlNumber, now()),
      notAfter: facts.certificate.notAfter,
      keyType: facts.certificate.keyType,
      crlNumber: facts.crl?.crlNumber ?? null,
      crlNextUpdate: facts.crl?.nextUpdate ?? null,
    },
  };
}

/** Runs `fn` over `items` with at most `limit` at once, keeping the order of results. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
