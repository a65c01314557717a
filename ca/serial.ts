/**
 * Serial numbers: random, positive, 126 bits of entropy in 16 octets (RFC 5280 4.1.2.2 allows up to 20;
 * CA/B Forum asks for at least 64 random bits). Random serials are what lets a standby CA issue beside
 * the primary without coordination; the store still refuses a serial it already knows.
 */
import { randomBytes } from 'node:crypto';

export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  // Top bit clear keeps the INTEGER positive; the next bit set keeps it 16 octets in minimal DER.
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex').toUpperCase();
}

/** Canonical serial form: uppercase hex without colons or leading zero octets. */
export function normalizeSerial(input: string): string | undefined {
  const hex = input.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{1,40}$/.test(hex)) return undefined;
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  return even.replace(/^(00)+(?=..)/, '');
}
