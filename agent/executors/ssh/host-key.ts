/**
 * Host key policy: every SSH connection is verified against a pinned fingerprint or a known_hosts file.
 * ssh2 accepts any host key when no `hostVerifier` is given, so the connection options are only ever
 * built from a `HostKeyPolicy`, and a policy cannot be built without a pin (see createHostKeyPolicy).
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { agentError } from '../../errors.js';

export type HostKeyVerdict = 'ok' | 'mismatch' | 'unknown';

export interface HostKeyPolicy {
  /** How the key is pinned, for messages. */
  readonly source: string;
  /** Host key algorithms to offer, most wanted first (those the pin names). */
  readonly algorithms: readonly string[];
  check(key: Buffer): HostKeyVerdict;
}

/** OpenSSH's fingerprint of a raw host key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH wire-format key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

const DEFAULT_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Host key algorithms that use a key of the given known_hosts type. */
function algorithmsFor(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

const FINGERPRINT_TYPES: Record<string, string> = {
  ED25519: 'ssh-ed25519',
  RSA: 'ssh-rsa',
  'ECDSA-256': 'ecdsa-sha2-nistp256',
  'ECDSA-384': 'ecdsa-sha2-nistp384',
  'ECDSA-521': 'ecdsa-sha2-nistp521',
  ECDSA: 'ecdsa-sha2-nistp256',
};

/**
 * Accepts `SHA256:…` alone or a whole `ssh-keygen -lf` line (`256 SHA256:… comment (ED25519)`); the
 * type in parentheses, when present, makes the client ask for that key type first.
 */
export function parseFingerprint(text: string): { fingerprint: string; keyType: string | null } {
  const m = /(?:^|\s)SHA256:([A-Za-z0-9+/]{43})=?(?:\s|$)/.exec(` ${text.trim()} `);
  if (!m) {
    throw agentError('AGENT_SSH_CONFIG_INVALID', `hostKey "${text}" is not a SHA256 fingerprint as \`ssh-keygen -lf\` prints it (SHA256: and 43 base64 characters)`);
  }
  const type = /\(([A-Z0-9-]+)\)\s*$/.exec(text.trim())?.[1];
  return { fingerprint: `SHA256:${m[1]}`, keyType: type ? (FINGERPRINT_TYPES[type] ?? null) : null };
}

export function fingerprintPolicy(text: string): HostKeyPolicy {
  const { fingerprint, keyType } = parseFingerprint(text);
  const algorithms = keyType
    ? [...algorithmsFor(keyType), ...DEFAULT_ALGORITHMS.filter((a) => !algorithmsFor(keyType).includes(a))]
    : DEFAULT_ALGORITHMS;
  return {
    source: `hostKey ${fingerprint}`,
    algorithms,
    // A pin names exactly one key: any other key for this host is a mismatch, never "unknown".
    check: (key) => (fingerprintOf(key) === fingerprint ? 'ok' : 'mismatch'),
  };
}

interface KnownHostsEntry {
  readonly marker: '' | '@revoked' | '@cert-authority';
  readonly matches: (name: string) => boolean | 'negated';
  readonly type: string;
  readonly key: Buffer;
}

/** OpenSSH's `*` / `?` host patterns. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hostMatcher(field: string): (name: string) => boolean | 'negated' {
  if (field.startsWith('|1|')) {
    // Hashed entry: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
    const [, , salt, hash] = field.split('|');
    const saltBuf = Buffer.from(salt ?? '', 'base64');
    return (name) => createHmac('sha1', saltBuf).update(name).digest('base64') === hash;
  }
  const patterns = field.split(',').map((p) => ({ negated: p.startsWith('!'), re: globToRegExp(p.replace(/^!/, '')) }));
  return (name) => {
    let hit = false;
    for (const p of patterns) {
      if (p.re.test(name)) {
        if (p.negated) return 'negated';
        hit = true;
      }
    }
    return hit;
  };
}

export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostsEntry['marker'] = '';
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostsEntry['marker'];
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64) continue;
    entries.push({ marker, matches: hostMatcher(hosts), type, key: Buffer.from(b64, 'base64') });
  }
  return entries;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function knownHostsPolicy(path: string, host: string, port: number): HostKeyPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw agentError('AGENT_SSH_CONFIG_INVALID', `knownHostsFile ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const name = knownHostsName(host, port);
  const forHost = parseKnownHosts(text).filter((e) => e.matches(name) === true);
  const pinned = forHost.filter((e) => e.marker === '');
  const revoked = forHost.filter((e) => e.marker === '@revoked');
  const types = [...new Set(pinned.map((e) => e.type))];
  const algorithms = types.length ? types.flatMap(algorithmsFor) : DEFAULT_ALGORITHMS;
  return {
    source: `knownHostsFile ${path} (${name})`,
    algorithms,
    check: (key) => {
      if (revoked.some((e) => e.key.equals(key))) return 'mismatch';
      if (pinned.some((e) => e.key.equals(key))) return 'ok';
      // Certificate authorities are not supported: a host only known through one counts as unknown.
      return pinned.length ? 'mismatch' : 'unknown';
    },
  };
}

/** Exactly one of hostKey / knownHostsFile; anything else is refused when the executor is created. */
export function createHostKeyPolicy(server: {
  readonly name: string;
  readonly remoteHostName: string;
  readonly port: number;
  readonly hostKey?: string | undefined;
  readonly knownHostsFile?: string | undefined;
}): HostKeyPolicy {
  if (server.hostKey && server.knownHostsFile) {
    throw agentError('AGENT_SSH_CONFIG_INVALID', `process server ${server.name}: give hostKey or knownHostsFile, not both`);
  }
  if (server.hostKey) return fingerprintPolicy(server.hostKey);
  if (server.knownHostsFile) return knownHostsPolicy(server.knownHostsFile, server.remoteHostName, server.port);
  throw agentError(
    'AGENT_SSH_CONFIG_INVALID',
    `process server ${server.name} has no host key pin: set hostKey ("SHA256:…" from \`ssh-keygen -lf\`) or knownHostsFile; unverified hosts are never used`,
  );
}
