/**
 * Reads thisUpdate/nextUpdate from a PEM or DER CRL with a minimal DER walk. The gateway needs only these
 * dates (to warn before a stale CRL locks every client out); OpenSSL checks the CRL's signature itself
 * at every handshake.
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

export function crlDates(input: Buffer | string): { thisUpdate: Date; nextUpdate: Date | undefined } {
  let der: Buffer;
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  if (pem) der = Buffer.from((pem[1] ?? '').replace(/\s+/g, ''), 'base64');
  else if (typeof input !== 'string') der = input;
  else throw new Error('no X509 CRL block');
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30) throw new Error('not a CRL');
  const tbs = readTlv(der, outer.start);
  if (tbs.tag !== 0x30) throw new Error('not a CRL');
  let pos = tbs.start;
  let field = readTlv(der, pos);
  if (field.tag === 0x02) field = readTlv(der, (pos = field.end)); // version
  field = readTlv(der, (pos = field.end)); // skip signature algorithm → issuer
  field = readTlv(der, (pos = field.end)); // thisUpdate
  if (field.tag !== 0x17 && field.tag !== 0x18) throw new Error('not a CRL (no thisUpdate)');
  const thisUpdate = readTime(der, field);
  let nextUpdate: Date | undefined;
  if (field.end < tbs.end) {
    const next = readTlv(der, field.end);
    if (next.tag === 0x17 || next.tag === 0x18) nextUpdate = readTime(der, next);
  }
  return { thisUpdate, nextUpdate };
}
