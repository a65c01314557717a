/**
 * Certificate profiles: which extensions each kind of certificate carries. The seed's names map as
 * root = "Root CA", connector = "executor connector" (the master's TLS client certificate), listener =
 * "agent listener" (the gateway's TLS server certificate).
 */
import { isIP } from 'node:net';

export const PROFILES = ['root', 'connector', 'listener'] as const;
export type Profile = (typeof PROFILES)[number];
export type LeafProfile = Exclude<Profile, 'root'>;

/** id-kp-clientAuth / id-kp-serverAuth (RFC 5280 4.2.1.12). */
export const EKU_OID: Readonly<Record<LeafProfile, string>> = {
  connector: '1.3.6.1.5.5.7.3.2',
  listener: '1.3.6.1.5.5.7.3.1',
};

export interface SubjectAltName {
  type: 'dns' | 'ip';
  value: string;
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.replace(/\.$/, '').split('.');
  // A wildcard is allowed only as the whole leftmost label (RFC 6125 6.4.3).
  if (labels[0] === '*' && labels.length > 2) labels.shift();
  return labels.every((l) => DNS_LABEL.test(l));
}

/**
 * `dns:host`, `ip:127.0.0.1`, `ip:::1`, or a bare value (an IP address when it parses as one). Returns
 * undefined for anything else so the caller can name the bad entry.
 */
export function parseSan(entry: string): SubjectAltName | undefined {
  const trimmed = entry.trim();
  const m = /^(dns|ip):(.*)$/i.exec(trimmed);
  const kind = m?.[1]?.toLowerCase();
  const value = m ? (m[2] ?? '') : trimmed;
  if (kind === 'ip' || (kind === undefined && isIP(value) !== 0)) {
    return isIP(value) !== 0 ? { type: 'ip', value } : undefined;
  }
  return isDnsName(value) ? { type: 'dns', value: value.toLowerCase() } : undefined;
}

/** Splits `--san a,b --san c` into entries; returns the parsed list and the entries that did not parse. */
export function parseSans(inputs: readonly string[]): { sans: SubjectAltName[]; invalid: string[] } {
  const sans: SubjectAltName[] = [];
  const invalid: string[] = [];
  for (const entry of inputs.flatMap((s) => s.split(',')).filter((s) => s.trim() !== '')) {
    const san = parseSan(entry);
    if (!san) invalid.push(entry);
    else if (!sans.some((s) => s.type === san.type && s.value === san.value)) sans.push(san);
  }
  return { sans, invalid };
}

export function formatSan(san: SubjectAltName): string {
  return `${san.type}:${san.value}`;
}

/** Common names become file names and log fields: keep them printable and short. */
export function isValidName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/.test(name);
}

/** forge extension descriptors for a profile and subject key type; SKI/AKI are added by the certificate builder. */
export function profileExtensions(profile: Profile, sans: readonly SubjectAltName[] = [], keyType = 'rsa'): object[] {
  if (profile === 'root') {
    return [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ];
  }
  const exts: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    // keyEncipherment is for RSA key transport; an EC key must not assert it (RFC 5480 section 3).
    { name: 'keyUsage', digitalSignature: true, ...(keyType === 'rsa' ? { keyEncipherment: true } : {}), critical: true },
    profile === 'connector' ? { name: 'extKeyUsage', clientAuth: true } : { name: 'extKeyUsage', serverAuth: true },
  ];
  if (sans.length > 0) {
    exts.push({
      name: 'subjectAltName',
      altNames: sans.map((s) => (s.type === 'dns' ? { type: 2, value: s.value } : { type: 7, ip: s.value })),
    });
  }
  return exts;
}
