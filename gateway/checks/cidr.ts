/**
 * CIDR matching for IPv4 and IPv6, with IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket
 * reports for an IPv4 client) treated as the IPv4 address it carries, so `192.0.2.0/24` matches it.
 * Addresses become four 32-bit words; IPv4 lives in the last word with family 4.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedAddress {
  family: 4 | 6;
  words: [number, number, number, number];
}

export interface Cidr {
  family: 4 | 6;
  words: [number, number, number, number];
  mask: [number, number, number, number];
  /** Prefix length in the address's own family (an IPv4-mapped /104 is an IPv4 /8). */
  bits: number;
  text: string;
}

function ipv4Word(text: string): number {
  const parts = text.split('.');
  let v = 0;
  for (const p of parts) v = v * 256 + Number(p);
  return v >>> 0;
}

function ipv6Words(text: string): [number, number, number, number] {
  let t = text;
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) is the last two 16-bit groups written differently.
  const lastColon = t.lastIndexOf(':');
  const tail = t.slice(lastColon + 1);
  if (tail.includes('.')) {
    const w = ipv4Word(tail);
    t = `${t.slice(0, lastColon + 1)}${(w >>> 16).toString(16)}:${(w & 0xffff).toString(16)}`;
  }
  const [left = '', right] = t.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const zeros = new Array<string>(right === undefined ? 0 : 8 - l.length - r.length).fill('0');
  // Exactly eight groups: callers pass only what isIPv6 accepted.
  const all = [...l, ...zeros, ...r].map((g) => parseInt(g, 16));
  const w = (i: number) => ((all[i]! << 16) | all[i + 1]!) >>> 0;
  return [w(0), w(2), w(4), w(6)];
}

/** Parses an address; IPv4-mapped IPv6 comes back as IPv4. Returns undefined when it is not an IP. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(t)) return { family: 4, words: [0, 0, 0, ipv4Word(t)] };
  const bare = t.split('%')[0]!; // drop a zone id (fe80::1%eth0)
  if (!isIPv6(bare)) return undefined;
  const words = ipv6Words(bare.toLowerCase());
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return { family: 4, words: [0, 0, 0, words[3]] };
  return { family: 6, words };
}

function maskWords(bits: number): [number, number, number, number] {
  const out: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const b = Math.max(0, Math.min(32, bits - i * 32));
    out[i] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
  }
  return out;
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (a host route). Throws a plain Error with the reason. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText);
  if (!addr) throw new Error(`"${text}" is not an IPv4 or IPv6 address or CIDR`);
  const mapped = addr.family === 4 && !isIPv4(addrText);
  const maxBits = addr.family === 4 ? 32 : 128;
  let bits = maxBits;
  if (slash >= 0) {
    const bitText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitText)) throw new Error(`"${text}": prefix length must be a number`);
    bits = Number(bitText);
    // ::ffff:a.b.c.d/104 is written in IPv6 prefix bits; convert to the IPv4 prefix it means.
    if (mapped) {
      if (bits < 96) throw new Error(`"${text}": an IPv4-mapped prefix must be /96 or longer`);
      bits -= 96;
    }
    if (bits > maxBits) throw new Error(`"${text}": prefix length exceeds ${maxBits}`);
  }
  const mask = addr.family === 4 ? ([0, 0, 0, maskWords(bits)[0]] as Cidr['mask']) : maskWords(bits);
  const words = addr.words.map((w, i) => (w & mask[i]!) >>> 0) as Cidr['words'];
  if (words.some((w, i) => w !== addr.words[i])) {
    throw new Error(`"${text}" has host bits set; did you mean ${formatNetwork(addr.family, words, bits)}?`);
  }
  return { family: addr.family, words, mask, bits, text };
}

/** Canonical text of a network, as nginx and people read it. */
export function formatCidr(c: Cidr): string {
  return formatNetwork(c.family, c.words, c.bits);
}

function formatNetwork(family: 4 | 6, words: Readonly<Cidr['words']>, bits: number): string {
  if (family === 4) {
    const w = words[3];
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${bits}`;
  }
  const groups: string[] = [];
  for (const w of words) groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const text = best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  return `${text}/${bits}`;
}

export function cidrContains(cidr: Cidr, addr: ParsedAddress): boolean {
  if (cidr.family !== addr.family) return false;
  for (let i = 0; i < 4; i++) {
    if (((addr.words[i]! & cidr.mask[i]!) >>> 0) !== cidr.words[i]) return false;
  }
  return true;
}
