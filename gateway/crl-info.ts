/**
 * Reads what the gateway needs from PEM or DER CRLs with a minimal DER walk: thisUpdate/nextUpdate (to warn
 * before a stale CRL locks every client out) and the issuer and revoked serials (to re-check connections
 * that are already open when a reload brings a new CRL). OpenSSL checks the CRL's signature itself at every
 * handshake; the reload re-check reads the same file the operator configured.
 */

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, pos: number): Tlv {
  const tag = buf[pos];
  let len = buf[pos + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  if (start + len > buf.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function readTime(buf: Buffer, t: Tlv): Date {
  const s = buf.toString('latin1', t.start, t.end);
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new Error(`bad time ${s}`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year >= 50 ? 1900 : 2000; // RFC 5280 §4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export interface CrlInfo {
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** The issuer Name, DER as hex: compared byte for byte with a certificate's issuer. */
  issuer: string;
  /** Revoked serial numbers, uppercase hex without leading zeros (as X509Certificate.serialNumber after normalizeSerial). */
  revoked: ReadonlySet<string>;
}

/** Uppercase hex without leading zeros, so serials from DER and from X509Certificate compare equal. */
export function normalizeSerial(hex: string): string {
  const s = hex.toUpperCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/** Every CRL in a PEM file (or the one DER CRL); throws on anything that is not a CRL. */
export function parseCrls(input: Buffer | string): CrlInfo[] {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const blocks = [...text.matchAll(/-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g)];
  if (blocks.length > 0) return blocks.map((m) => parseCrlDer(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64')));
  if (typeof input !== 'string') return [parseCrlDer(input)];
  throw new Error('no X509 CRL block');
}

/** The issuer Name of a DER certificate, as hex (tbsCertificate: [0] version, serial, signature, issuer). */
export function certIssuer(raw: Buffer): string {
  const outer = readTlv(raw, 0);
  const tbs = readTlv(raw, outer.start);
  let field = readTlv(raw, tbs.start);
  if (field.tag === 0xa0) field = readTlv(raw, field.end);
  field = readTlv(raw, field.end); // signature algorithm
  const issuer = readTlv(raw, field.end);
  if (outer.tag !== 0x30 || tbs.tag !== 0x30 || issuer.tag !== 0x30) throw new Error('not a certificate');
  return raw.toString('hex', field.end, issuer.end);
}

export function crlDates(input: Buffer | string): { thisUpdate: Date; nextUpdate: Date | undefined } {
  const first = parseCrls(input)[0]!;
  return { thisUpdate: first.thisUpdate, nextUpdate: first.nextUpdate };
}

function parseCrlDer(der: Buffer): CrlInfo {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30) throw new Error('not a CRL');
  const tbs = readTlv(der, outer.start);
  if (tbs.tag !== 0x30) throw new Error('not a CRL');
  let pos = tbs.start;
  let field = readTlv(der, pos);
  if (field.tag === 0x02) field = readTlv(der, (pos = field.end)); // version
  field = readTlv(der, (pos = field.end)); // skip signature algorithm → issuer
  if (field.tag !== 0x30) throw new Error('not a CRL (no issuer)');
  const issuer = der.toString('hex', pos, field.end);
  field = readTlv(der, (pos = field.end)); // thisUpdate
  if (field.tag !== 0x17 && field.tag !== 0x18) throw new Error('not a CRL (no thisUpdate)');
  const thisUpdate = readTime(der, field);
  let nextUpdate: Date | undefined;
  const revoked = new Set<string>();
  let at = field.end;
  if (at < tbs.end) {
    const next = readTlv(der, at);
    if (next.tag === 0x17 || next.tag === 0x18) {
      nextUpdate = readTime(der, next);
      at = next.end;
    }
  }
  if (at < tbs.end) {
    const list = readTlv(der, at);
    if (list.tag === 0x30) {
      // revokedCertificates: SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate, extensions? }
      for (let e = list.start; e < list.end;) {
        const entry = readTlv(der, e);
        const serial = readTlv(der, entry.start);
        if (entry.tag !== 0x30 || serial.tag !== 0x02) throw new Error('not a CRL (bad revoked entry)');
        revoked.add(normalizeSerial(der.toString('hex', serial.start, serial.end)));
        e = entry.end;
      }
    }
  }
  return { thisUpdate, nextUpdate, issuer, revoked };
}
