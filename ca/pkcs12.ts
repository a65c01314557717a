/**
 * PKCS#12 (RFC 7292) written and read with our own ASN.1 and Node's crypto, because forge writes
 * AES-128/2,048-iteration key bags by default and — worse — accepts a file whose MAC was stripped.
 *
 * Written: the key in a pkcs8ShroudedKeyBag, certificates (and CRLs, for `export-root`) in an encrypted
 * SafeContents, an HMAC over the whole. Modern: PBES2/PBKDF2-SHA256/AES-256 + HMAC-SHA256, the layout of
 * OpenSSL 3's defaults. Legacy: 3DES + HMAC-SHA1, which Windows Server 2016 can import.
 * Read: the MAC is mandatory and checked before anything is decrypted.
 */
import { createHmac, createPrivateKey, randomBytes, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import * as der from './der.js';
import { decrypt, encrypt, kdfIterations, pkcs12Kdf, UnsupportedAlgorithmError, OID as PBE, DEFAULT_ITERATIONS, LEGACY_ITERATIONS } from './pbe.js';
import { KdfBudget, KdfLimitError, DEFAULT_MAX_ITERATIONS, formatCount, type KdfRun } from './kdf-budget.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  crlBag: '1.2.840.113549.1.12.10.1.4',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  x509Crl: '1.2.840.113549.1.9.23.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
} as const;

export type Pkcs12Failure = 'malformed' | 'no-mac' | 'bad-password' | 'too-costly' | 'unsupported';

/** Why a PKCS#12 file was refused; the CA maps each reason to its own error code. */
export class Pkcs12Error extends Error {
  constructor(
    readonly reason: Pkcs12Failure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Pkcs12Input {
  key?: KeyObject | undefined;
  /** The key's certificate first, then the chain. */
  certs: readonly X509Certificate[];
  /** DER CRLs (carried by `export-root` so a standby keeps the revocation state). */
  crls?: readonly Buffer[];
  password: string;
  legacy?: boolean;
  iterations?: number;
  friendlyName?: string;
}

export interface Pkcs12Contents {
  keys: KeyObject[];
  certs: X509Certificate[];
  crls: Buffer[];
}

const ctx0 = (inner: der.Asn1): der.Asn1 => der.explicit(0, inner);

function bag(id: string, value: der.Asn1, attrs: der.Asn1[]): der.Asn1 {
  return der.seq([der.oid(id), ctx0(value), ...(attrs.length > 0 ? [der.set(attrs)] : [])]);
}

function attr(id: string, value: der.Asn1): der.Asn1 {
  return der.seq([der.oid(id), der.set([value])]);
}

function encryptedContentInfo(safeContents: Buffer, password: string, scheme: 'aes256' | 'legacy3des', iterations: number): der.Asn1 {
  const { algorithm, ciphertext } = encrypt(safeContents, password, scheme, iterations);
  const encryptedContent = forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, false, der.toBinary(ciphertext));
  return der.seq([
    der.oid(OID.encryptedData),
    ctx0(der.seq([der.integer(0), der.seq([der.oid(OID.data), algorithm, encryptedContent])])),
  ]);
}

export function buildPkcs12(input: Pkcs12Input): Buffer {
  const scheme = input.legacy ? 'legacy3des' : 'aes256';
  const iterations = input.iterations ?? (input.legacy ? LEGACY_ITERATIONS : DEFAULT_ITERATIONS);
  const first = input.certs[0];
  const keyId = first ? Buffer.from(first.fingerprint.replace(/:/g, ''), 'hex') : randomBytes(20);
  const idAttrs = [attr(OID.localKeyId, der.octets(keyId)), ...(input.friendlyName ? [attr(OID.friendlyName, der.bmpString(input.friendlyName))] : [])];

  const certBags = input.certs.map((c, i) =>
    bag(OID.certBag, der.seq([der.oid(OID.x509Certificate), ctx0(der.octets(c.raw))]), i === 0 && input.key ? idAttrs : []),
  );
  const crlBags = (input.crls ?? []).map((c) => bag(OID.crlBag, der.seq([der.oid(OID.x509Crl), ctx0(der.octets(c))]), []));
  const safes: der.Asn1[] = [encryptedContentInfo(der.encode(der.seq([...certBags, ...crlBags])), input.password, scheme, iterations)];

  if (input.key) {
    const plain = input.key.export({ type: 'pkcs8', format: 'der' });
    const { algorithm, ciphertext } = encrypt(plain, input.password, scheme, iterations);
    const keyBag = bag(OID.shroudedKeyBag, der.seq([algorithm, der.octets(ciphertext)]), idAttrs);
    safes.push(der.seq([der.oid(OID.data), ctx0(der.octets(der.encode(der.seq([keyBag]))))]));
  }
  const authSafe = der.encode(der.seq(safes));
  const macAlg = input.legacy ? 'sha1' : 'sha256';
  const macSalt = randomBytes(input.legacy ? 8 : 16);
  const macKey = pkcs12Kdf(input.password, macSalt, 3, iterations, macAlg === 'sha1' ? 20 : 32, macAlg);
  const mac = createHmac(macAlg, macKey).update(authSafe).digest();
  const macData = der.seq([
    der.seq([der.seq([der.oid(macAlg === 'sha1' ? PBE.sha1 : PBE.sha256), der.nul()]), der.octets(mac)]),
    der.octets(macSalt),
    der.integer(iterations),
  ]);
  return der.encode(der.seq([der.integer(3), der.seq([der.oid(OID.data), ctx0(der.octets(authSafe))]), macData]));
}

interface MacData {
  hash: 'sha1' | 'sha256';
  digest: Buffer;
  salt: Buffer;
  iterations: number;
}

function readMacData(macData: der.Asn1): MacData {
  const [digestInfo, saltNode, iterNode] = der.children(macData);
  const [algId, digest] = der.children(digestInfo);
  const alg = der.readOid(der.children(algId)[0]);
  const hash = alg === PBE.sha1 ? 'sha1' : alg === PBE.sha256 ? 'sha256' : undefined;
  if (!hash) throw new Pkcs12Error('unsupported', `MAC algorithm ${alg} is not supported`);
  return { hash, digest: der.bytesOf(digest), salt: der.bytesOf(saltNode), iterations: iterNode ? der.integerNumber(iterNode) : 1 };
}

function macMatches(mac: MacData, authSafe: Buffer, password: string): boolean {
  const key = pkcs12Kdf(password, mac.salt, 3, mac.iterations, mac.hash === 'sha1' ? 20 : 32, mac.hash);
  const actual = createHmac(mac.hash, key).update(authSafe).digest();
  return mac.digest.length === actual.length && timingSafeEqual(mac.digest, actual);
}

/** The OCTET STRING inside a `data` ContentInfo. */
function dataContent(contentInfo: der.Asn1 | undefined): Buffer {
  const [type, wrapped] = der.children(contentInfo);
  if (der.readOid(type) !== OID.data) throw new Pkcs12Error('unsupported', 'only password-integrity PKCS#12 files are supported');
  const octets = der.children(wrapped)[0];
  // BER producers may split the OCTET STRING into a constructed one; join the pieces.
  return Array.isArray(octets?.value) ? Buffer.concat(der.children(octets).map((p) => der.bytesOf(p))) : der.bytesOf(octets);
}

/** The algorithm and ciphertext of an `encryptedData` ContentInfo. */
function encryptedContent(contentInfo: der.Asn1): { alg: der.Asn1; ciphertext: Buffer } {
  const encData = der.children(der.children(contentInfo)[1])[0];
  const [, eci] = der.children(encData);
  const [, alg, content] = der.children(eci);
  if (!alg || !content) throw new Pkcs12Error('malformed', 'encrypted content has no algorithm or data');
  const ciphertext = Array.isArray(content.value) ? Buffer.concat(der.children(content).map((p) => der.bytesOf(p))) : der.bytesOf(content);
  return { alg, ciphertext };
}

/** The iterations of every encrypted part and of every key bag in a plain part: all a reader sees unopened. */
function declaredWork(authSafe: Buffer): { parts: number; iterations: number } {
  let parts = 0;
  let iterations = 0;
  for (const ci of der.children(der.decode(authSafe))) {
    const type = der.readOid(der.children(ci)[0]);
    if (type === OID.encryptedData) {
      parts++;
      iterations += kdfIterations(encryptedContent(ci).alg);
    } else if (type === OID.data) {
      for (const safeBag of der.children(der.decode(dataContent(ci)))) {
        const [idNode, valueWrap] = der.children(safeBag);
        if (der.readOid(idNode) !== OID.shroudedKeyBag) continue;
        parts++;
        iterations += kdfIterations(der.children(der.children(valueWrap)[0])[0]);
      }
    }
  }
  return { parts, iterations };
}

function readSafeContents(bytes: Buffer, password: string, out: Pkcs12Contents, budget: KdfBudget): void {
  for (const safeBag of der.children(der.decode(bytes))) {
    const [idNode, valueWrap] = der.children(safeBag);
    const id = der.readOid(idNode);
    const value = der.children(valueWrap)[0];
    if (id === OID.shroudedKeyBag) {
      const [alg, data] = der.children(value);
      if (!alg) throw new Pkcs12Error('malformed', 'key bag has no algorithm');
      // Key bags inside an encrypted part were not in the plan: the budget bounds them as they come.
      const plain = decrypt(alg, der.bytesOf(data), password, (n) => budget.charge('key', n));
      out.keys.push(createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' }));
    } else if (id === OID.keyBag && value) {
      out.keys.push(createPrivateKey({ key: der.encode(value), format: 'der', type: 'pkcs8' }));
    } else if (id === OID.certBag) {
      const [type, certWrap] = der.children(value);
      if (der.readOid(type) === OID.x509Certificate) out.certs.push(new X509Certificate(der.bytesOf(der.children(certWrap)[0])));
    } else if (id === OID.crlBag) {
      const [type, crlWrap] = der.children(value);
      if (der.readOid(type) === OID.x509Crl) out.crls.push(der.bytesOf(der.children(crlWrap)[0]));
    }
  }
}

function readAuthSafe(authSafe: Buffer, password: string, budget: KdfBudget): Pkcs12Contents {
  const out: Pkcs12Contents = { keys: [], certs: [], crls: [] };
  for (const ci of der.children(der.decode(authSafe))) {
    const type = der.readOid(der.children(ci)[0]);
    if (type === OID.data) {
      readSafeContents(dataContent(ci), password, out, budget);
    } else if (type === OID.encryptedData) {
      const { alg, ciphertext } = encryptedContent(ci);
      readSafeContents(decrypt(alg, ciphertext, password, (n) => budget.charge('part', n)), password, out, budget);
    } else {
      throw new Pkcs12Error('unsupported', `content type ${type} is not supported`);
    }
  }
  return out;
}

export interface Pkcs12ReadOptions {
  /** Iterations summed over the MAC and every encrypted part (DEFAULT_MAX_ITERATIONS when absent). */
  maxIterations?: number | undefined;
  /** Told of each key derivation before it runs. */
  onKeyDerivation?: (run: KdfRun) => void;
}

/**
 * Reads a password-integrity PKCS#12 file the way `openssl pkcs12` does, in this order, so a hostile or
 * wrong file costs little: the structure; the work it declares against the limit (nothing derived yet);
 * the MAC (one derivation: a wrong password or an altered file stops here, before any part is
 * decrypted); then each part, decrypted once.
 */
export function parsePkcs12(file: Uint8Array, password: string, options: Pkcs12ReadOptions = {}): Pkcs12Contents {
  let authSafe: Buffer;
  let macNode: der.Asn1 | undefined;
  try {
    const [version, authSafeInfo, mac] = der.children(der.decode(file));
    if (!version || der.integerNumber(version) !== 3) throw new Error('not a version 3 PFX');
    authSafe = dataContent(authSafeInfo);
    macNode = mac;
  } catch (err) {
    if (err instanceof Pkcs12Error) throw err;
    throw new Pkcs12Error('malformed', 'not a PKCS#12 file', { cause: err });
  }
  // forge would carry on without a MAC; an unauthenticated file could have had its certificates swapped.
  if (!macNode) throw new Pkcs12Error('no-mac', 'the file has no integrity MAC');
  const budget = new KdfBudget(options.maxIterations ?? DEFAULT_MAX_ITERATIONS, options.onKeyDerivation);
  try {
    const mac = readMacData(macNode);
    const work = declaredWork(authSafe);
    budget.plan(mac.iterations + work.iterations, `MAC ${formatCount(mac.iterations)} + ${work.parts} encrypted part${work.parts === 1 ? '' : 's'} ${formatCount(work.iterations)}`);
    budget.charge('mac', mac.iterations);
    if (!macMatches(mac, authSafe, password)) {
      throw new Pkcs12Error('bad-password', 'the password does not verify the integrity MAC: it is not the export password, or the file was altered after export');
    }
    return readAuthSafe(authSafe, password, budget);
  } catch (err) {
    if (err instanceof Pkcs12Error) throw err;
    if (err instanceof KdfLimitError) throw new Pkcs12Error('too-costly', err.message, { cause: err });
    if (err instanceof UnsupportedAlgorithmError) throw new Pkcs12Error('unsupported', err.message, { cause: err });
    // The MAC verified, so the password is right and the bytes are as written: the writer made them wrong.
    throw new Pkcs12Error('malformed', `the contents do not decode: ${(err as Error).message}`, { cause: err });
  }
}
