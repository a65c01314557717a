/**
 * `outpost ca maintain`: one pass of everything a timer must keep doing, in order —
 *  1. re-sign the CRL once half its life is gone;
 *  2. publish it to every gateway whose CRL is older;
 *  3. rotate every gateway certificate past two thirds of its lifetime;
 *  4. renew the master's default connector certificate past two thirds of its lifetime.
 * Every step runs even when an earlier gateway failed; the summary lists each failure.
 */
import type { TlsCredentials } from '../credentials.js';
import { GatewayAdminClient } from './admin-client.js';
import { DEFAULT_CRL_LIFETIME_MS, type CaContext } from './ca-context.js';
import { crlDue, certificateDue } from './schedule.js';
import { fleetRow, mapLimited, publishCrl, rotateGateway, type PublishRow, type RotateRow } from './operations.js';

export interface MaintainOptions {
  gateways: readonly string[];
  creds: TlsCredentials;
  listenerLifetimeMs?: number | undefined;
  connectorLifetimeMs?: number | undefined;
  crlLifetimeMs?: number | undefined;
  concurrency?: number;
  requestTimeoutMs?: number;
}

export interface MaintainSummary {
  crl: { action: 'resigned' | 'kept'; crlNumber: number; nextUpdate: string | null };
  gateways: { gateway: string; crl: PublishRow | { status: 'current' | 'failed'; code?: string; message?: string }; certificate: RotateRow }[];
  connector: { action: 'renewed' | 'kept' | 'none' | 'failed'; thumbprint?: string; notAfter?: string; message?: string };
  failures: number;
}

export async function maintain(ca: CaContext, o: MaintainOptions): Promise<MaintainSummary> {
  let crl = await ca.currentCrl();
  let crlAction: 'resigned' | 'kept' = 'kept';
  if (!crl || crlDue(crl.thisUpdate, crl.nextUpdate)) {
    const lifetime = o.crlLifetimeMs ?? (crl?.nextUpdate ? Math.max(10_000, Date.parse(crl.nextUpdate) - Date.parse(crl.thisUpdate)) : DEFAULT_CRL_LIFETIME_MS);
    await ca.resignCrl(lifetime);
    crl = await ca.currentCrl();
    crlAction = 'resigned';
  }
  if (!crl) throw new Error('internal: no CRL after signing one');
  const current = crl;
  const signer = ca.listenerSigner(o.listenerLifetimeMs);
  const gateways = await mapLimited(o.gateways, o.concurrency ?? 4, async (url) => {
    const client = new GatewayAdminClient(url, o.creds, { requestTimeoutMs: o.requestTimeoutMs ?? 60_000 });
    try {
      const { row, facts } = await fleetRow(client, current.crlNumber);
      if (!facts) {
        const unreachable = { status: 'failed' as const, ...(row.code ? { code: row.code } : {}), ...(row.message ? { message: row.message } : {}) };
        return { gateway: url, crl: unreachable, certificate: { gateway: url, ...unreachable } };
      }
      const needsCrl = facts.crl !== null && (facts.crl.crlNumber ?? -1) < current.crlNumber;
      const crlRow = needsCrl ? await publishCrl(client, current.pem) : { gateway: url, status: 'current' as const };
      const certificate = await rotateGateway(client, signer, { onlyWhenDue: true });
      return { gateway: url, crl: crlRow, certificate };
    } finally {
      await client.close();
    }
  });
  let connector: MaintainSummary['connector'] = { action: 'none' };
  try {
    const record = await ca.defaultConnector();
    if (record) {
      if (record.hasKey && certificateDue(record.notBefore, record.notAfter)) {
        const r = await ca.renewConnector(record.thumbprint, o.connectorLifetimeMs, Date.parse(record.notAfter) - Date.parse(record.notBefore));
        connector = { action: 'renewed', thumbprint: r.thumbprint, notAfter: r.notAfter };
      } else {
        connector = { action: 'kept', thumbprint: record.thumbprint, notAfter: record.notAfter };
      }
    }
  } catch (err) {
    connector = { action: 'failed', message: (err as Error).message };
  }
  const failures = gateways.filter((g) => g.crl.status === 'failed' || g.certificate.status === 'failed').length + (connector.action === 'failed' ? 1 : 0);
  return { crl: { action: crlAction, crlNumber: current.crlNumber, nextUpdate: current.nextUpdate }, gateways, connector, failures };
}
