/**
 * When something is due, as pure functions of dates: a certificate is renewed once two thirds of its
 * lifetime are gone and a CRL re-signed once half of its life is gone (the cadence step-ca's
 * `renew --daemon` uses), so one missed hourly run never lets either lapse.
 */
export const RENEW_AT = 2 / 3;
export const CRL_RESIGN_AT = 1 / 2;

export function fractionGone(from: string | Date, to: string | Date, now = Date.now()): number {
  const a = new Date(from).getTime();
  const b = new Date(to).getTime();
  if (!(b > a)) return 1;
  return (now - a) / (b - a);
}

export function certificateDue(notBefore: string, notAfter: string, now = Date.now()): boolean {
  return fractionGone(notBefore, notAfter, now) >= RENEW_AT;
}

export function crlDue(thisUpdate: string, nextUpdate: string | null, now = Date.now()): boolean {
  return nextUpdate === null || fractionGone(thisUpdate, nextUpdate, now) >= CRL_RESIGN_AT;
}

export type Verdict = 'ok' | 'renew soon' | 'CRL stale' | 'unreachable';

/**
 * One gateway's verdict for `outpost ca fleet`: unreachable; its CRL past nextUpdate or older than the
 * store's; its certificate past two thirds of its lifetime; else ok.
 */
export function verdictOf(
  facts: { certificate: { notBefore: string; notAfter: string }; crl: { crlNumber: number | null; nextUpdate: string | null } | null } | undefined,
  storeCrlNumber: number | undefined,
  now = Date.now(),
): Verdict {
  if (!facts) return 'unreachable';
  const crl = facts.crl;
  if (crl && (crl.nextUpdate === null || Date.parse(crl.nextUpdate) <= now || (storeCrlNumber !== undefined && (crl.crlNumber ?? -1) < storeCrlNumber))) return 'CRL stale';
  if (certificateDue(facts.certificate.notBefore, facts.certificate.notAfter, now)) return 'renew soon';
  return 'ok';
}
