import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import * as der from '../../ca/der.js';

const hex = (node: der.Asn1): string => der.encode(node).toString('hex');

/** A real certificate from forge, signed, with distinct issuer and subject so an off-by-one picks the wrong Name. */
function certificateDer(): Buffer {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date('2026-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2027-01-01T00:00:00Z');
  cert.setIssuer([{ name: 'commonName', value: 'issuer' }]);
  cert.setSubject([{ name: 'commonName', value: 'subject' }]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), forge.md.sha256.create());
  return der.encode(forge.pki.certificateToAsn1(cert));
}

/** The CN value of a Name: SEQUENCE OF SET OF SEQUENCE { OID, value }. */
const commonNameOf = (name: der.Asn1): string =>
  der.bytesOf(der.children(der.children(der.children(name)[0])[0])[1]).toString('latin1');

t.test('INTEGER: minimal DER both ways, a sign octet only when the top bit is set', async (t) => {
  t.equal(hex(der.integer(0)), '020100');
  t.equal(hex(der.integer(0x7f)), '02017f');
  t.equal(hex(der.integer(0x80)), '02020080', '0x80 would read as negative without the 00 octet');
  t.equal(hex(der.integer('000abc')), '02020abc', 'leading zero digits of a hex serial are dropped');
  t.equal(der.integerHex(der.decode(Buffer.from('0203008001', 'hex'))), '8001', 'the sign octet is not part of the serial');
  t.equal(der.integerNumber(der.decode(Buffer.from('02020400', 'hex'))), 1024);
  // forge accepts a zero-length INTEGER even in strict mode; it must read as 0, never NaN.
  t.equal(der.integerNumber(der.decode(Buffer.from('0200', 'hex'))), 0);
});

t.test('BOOLEAN and BMPString encode as DER requires', async (t) => {
  t.equal(hex(der.bool(true)), '0101ff', 'TRUE is all ones in DER');
  t.equal(hex(der.bool(false)), '010100');
  t.equal(hex(der.bmpString('aé')), '1e04006100e9', 'UTF-16BE, one pair of octets per character');
});

t.test('wrappers: SEQUENCE, SET, [n] EXPLICIT and BIT STRING with no unused bits', async (t) => {
  t.equal(hex(der.seq([der.nul()])), '30020500');
  t.equal(hex(der.set([der.nul()])), '31020500');
  t.equal(hex(der.explicit(0, der.integer(2))), 'a003020102', 'context-specific, constructed, tag 0');
  t.equal(hex(der.bitString(Buffer.from([0xde, 0xad]))), '030300dead', 'the leading octet counts unused bits: none');
});

t.test('time: UTCTime through 2049, GeneralizedTime from 2050, and both read back', async (t) => {
  const late2049 = new Date('2049-12-31T23:59:59Z');
  const early2050 = new Date('2050-01-01T00:00:00Z');
  const utc = der.time(late2049);
  const generalized = der.time(early2050);
  t.equal(utc.type, forge.asn1.Type.UTCTIME);
  t.equal(generalized.type, forge.asn1.Type.GENERALIZEDTIME);
  t.equal(generalized.value, '20500101000000Z');
  t.equal(der.readTime(der.decode(der.encode(utc))).toISOString(), late2049.toISOString());
  t.equal(der.readTime(der.decode(der.encode(generalized))).toISOString(), early2050.toISOString());
});

t.test('readers are total: a missing or different node gives an empty answer, not an exception', async (t) => {
  const sha256WithRsa = '1.2.840.113549.1.1.11';
  t.equal(der.readOid(der.decode(der.encode(der.oid(sha256WithRsa)))), sha256WithRsa);
  t.equal(der.readOid(der.nul()), undefined, 'a NULL where an OID was expected');
  t.equal(der.readOid(undefined), undefined, 'an absent element');

  const items = [der.nul(), der.octets(Buffer.from('hi'))];
  t.equal(der.children(der.seq(items)).length, 2);
  t.same(der.children(der.octets(Buffer.from('hi'))), [], 'a primitive has no children');
  t.same(der.children(undefined), []);

  t.equal(der.bytesOf(der.octets(Buffer.from('hi'))).toString(), 'hi');
  t.equal(der.bytesOf(der.seq(items)).length, 0, 'a constructed node has no bytes of its own');
  t.equal(der.bytesOf(undefined).length, 0);
});

t.test('subjectNameOf: the subject, with or without the version field', async (t) => {
  const v3 = certificateDer();
  t.equal(commonNameOf(der.subjectNameOf(v3)), 'subject');

  // A v1 certificate has no [0] version: every field sits one place earlier.
  const cert = der.decode(v3);
  const tbs = der.children(cert)[0]!;
  const v1Tbs = der.seq(der.children(tbs).slice(1));
  const v1 = der.encode(der.seq([v1Tbs, ...der.children(cert).slice(1)]));
  t.equal(commonNameOf(der.subjectNameOf(v1)), 'subject');

  // Cut off after the validity: no subject to return.
  const truncated = der.encode(der.seq([der.seq(der.children(tbs).slice(0, 5))]));
  t.throws(() => der.subjectNameOf(truncated), { name: 'TypeError', message: 'certificate has no subject' });
});
