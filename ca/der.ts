/**
 * Small DER helpers over forge's ASN.1 model, for the structures forge cannot build itself (CRLs,
 * PBES2 with PBKDF2-SHA256, PKCS#12 bags). forge's ASN.1 "bytes" are binary strings; Node uses Buffers.
 */
import forge from 'node-forge';

const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

export const toBinary = (b: Uint8Array): string => Buffer.from(b).toString('binary');
export const fromBinary = (s: string): Buffer => Buffer.from(s, 'binary');

export function encode(node: Asn1): Buffer {
  return fromBinary(asn1.toDer(node).getBytes());
}

export function decode(der: Uint8Array): Asn1 {
  // strict parsing, no BIT STRING guessing: the structure must be exactly what it claims.
  return asn1.fromDer(forge.util.createBuffer(toBinary(der)), { strict: true, decodeBitStrings: false } as never);
}

export const seq = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, items);
export const oid = (id: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
export const nul = (): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '');
export const octets = (b: Uint8Array): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, toBinary(b));
export const bitString = (b: Uint8Array): Asn1 =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${toBinary(b)}`);
export const bool = (v: boolean): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, v ? '\u00ff' : '\u0000');
/** forge writes a BMPSTRING's value as UTF-16BE itself: hand it the text, not bytes (else NULs interleave). */
export const bmpString = (s: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, s);
/** [n] EXPLICIT wrapper. */
export const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, [inner]);

/** A non-negative INTEGER from hex (serials) or a safe integer; minimal DER with a sign octet when needed. */
export function integer(value: string | number): Asn1 {
  let hex = typeof value === 'number' ? value.toString(16) : value.replace(/^0+(?=.)/, '');
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, forge.util.hexToBytes(hex));
}

export function integerHex(node: Asn1): string {
  return forge.util.bytesToHex(node.value as string).toUpperCase().replace(/^(00)+(?=..)/, '');
}

export function integerNumber(node: Asn1): number {
  return Number.parseInt(forge.util.bytesToHex(node.value as string) || '0', 16);
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function time(date: Date): Asn1 {
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

export function readTime(node: Asn1): Date {
  return node.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(node.value as string) : asn1.generalizedTimeToDate(node.value as string);
}

export function readOid(node: Asn1 | undefined): string | undefined {
  return node && node.type === asn1.Type.OID ? asn1.derToOid(node.value as string) : undefined;
}

export function children(node: Asn1 | undefined): Asn1[] {
  return node && Array.isArray(node.value) ? node.value : [];
}

export function bytesOf(node: Asn1 | undefined): Buffer {
  return node && typeof node.value === 'string' ? fromBinary(node.value) : Buffer.alloc(0);
}

/** The exact subject Name of a certificate, as encoded inside it (for CRL issuer fields). */
export function subjectNameOf(certDer: Uint8Array): Asn1 {
  const tbs = children(decode(certDer))[0];
  const fields = children(tbs);
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, …
  const offset = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new TypeError('certificate has no subject');
  return subject;
}
