/**
 * Imports for a standby master: `import-root` (the CA itself, with its records and revocations) and
 * `import` (a connector or listener certificate with its key). Each refusal has its own error code.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { caError } from './errors.js';
import { encryptPrivateKeyPem } from './pkcs8.js';
import { privateKeyPem } from './keys.js';
import { parseCrl } from './crl.js';
import { EKU_OID, type LeafProfile } from './profiles.js';
import { recordOf, profileOf } from './records.js';
import { checkNewPassword, checkKeyStrength, type Secret, type IssuedResult } from './authority.js';
import { readBundle, checkValidity, singleKey, type ReadLimits } from './transfer.js';
import { thumbprintOf } from './thumbprint.js';
import type { CaStore, CertRecord, StoreIndex } from './store.js';

function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function isSelfSignedCa(cert: X509Certificate): boolean {
  return cert.ca && cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/** True when `root` issued `cert`: names and key identifiers line up and the signature verifies. */
function issuedBy(cert: X509Certificate, root: X509Certificate): boolean {
  return cert.checkIssued(root) && cert.verify(root.publicKey);
}

/** Adds or merges a record; revocation is sticky (a revoked certificate never becomes valid again). */
function upsert(index: StoreIndex, record: CertRecord): CertRecord {
  const existing = index.certificates.find((c) => c.thumbprint === record.thumbprint);
  if (!existing) {
    index.certificates.push(record);
    return record;
  }
  existing.hasKey ||= record.hasKey;
  if (record.status === 'revoked' && existing.status !== 'revoked') Object.assign(existing, { status: 'revoked', revokedAt: record.revokedAt, reason: record.reason });
  return existing;
}

export interface ImportRootResult extends IssuedResult {
  records: number;
  revoked: number;
}

export async function importRoot(store: CaStore, file: string, opts: ReadLimits & { makeDefault?: boolean | undefined; password: Secret; passphrase: Secret }): Promise<ImportRootResult> {
  const bundle = await readBundle(file, opts.password, opts);
  const key = singleKey(bundle);
  checkKeyStrength(key, 'the private key in the file');
  const root = bundle.certs.find((c) => keyMatches(c, key));
  if (!root) {
    if (!bundle.certs.some(isSelfSignedCa)) throw caError('CA_IMPORT_NOT_A_CA', `${file} holds no self-signed CA certificate`);
    throw caError('CA_IMPORT_KEY_MISMATCH', 'the private key does not belong to the CA certificate in the file');
  }
  if (!isSelfSignedCa(root)) throw caError('CA_IMPORT_NOT_A_CA', `${root.subject.replace(/\n/g, ', ')} is not a self-signed CA certificate`);
  checkValidity(root);
  const revokedBySerial = new Map<string, { revokedAt: Date; reason?: string | undefined }>();
  const crlNumbers: number[] = [];
  for (const crlDer of bundle.crls) {
    let parsed;
    try {
      parsed = parseCrl(crlDer, root);
    } catch (err) {
      throw caError('CA_IMPORT_CRL_INVALID', `the CRL in ${file} is not signed by the imported root`, { cause: err });
    }
    for (const r of parsed.revoked) revokedBySerial.set(r.serialHex, r);
    crlNumbers.push(parsed.crlNumber ?? 0);
  }
  const passphrase = await opts.passphrase();
  checkNewPassword(passphrase);
  const encryptedKey = encryptPrivateKeyPem(key, passphrase);
  const rootThumbprint = thumbprintOf(root);
  return store.update(
    async (index) => {
      await store.writePrivate(store.rootKeyPath(rootThumbprint), encryptedKey);
      await store.writePublic(store.rootCertPath(rootThumbprint), root.toString());
      const rootRecord = upsert(index, { ...recordOf(root, { profile: 'root', issuer: rootThumbprint, hasKey: true, origin: 'import-root' }) });
      let records = 0;
      for (const cert of bundle.certs) {
        const profile = profileOf(cert);
        if (cert === root || !profile || profile === 'root' || !issuedBy(cert, root)) continue;
        const record = recordOf(cert, { profile, issuer: rootThumbprint, hasKey: false, origin: 'record' });
        const rev = revokedBySerial.get(record.serial);
        if (rev) Object.assign(record, { status: 'revoked', revokedAt: rev.revokedAt.toISOString(), ...(rev.reason ? { reason: rev.reason } : {}) });
        if (!index.certificates.some((c) => c.thumbprint === record.thumbprint)) await store.writePublic(store.certPath(record.thumbprint), cert.toString());
        upsert(index, record);
        records++;
      }
      // The standby's CRLs must supersede the primary's: never number one lower.
      index.crlNumber = Math.max(index.crlNumber, ...crlNumbers);
      if (opts.makeDefault || !index.defaultRoot) index.defaultRoot = rootThumbprint;
      return {
        thumbprint: rootRecord.thumbprint,
        sha1: rootRecord.sha1,
        serial: rootRecord.serial,
        subject: rootRecord.subject,
        profile: 'root',
        notBefore: rootRecord.notBefore,
        notAfter: rootRecord.notAfter,
        sans: [],
        certPath: store.rootCertPath(rootThumbprint),
        isDefault: index.defaultRoot === rootThumbprint,
        records,
        revoked: revokedBySerial.size,
      };
    },
    { create: true },
  );
}

export async function importCert(store: CaStore, file: string, opts: ReadLimits & { as: LeafProfile; makeDefault?: boolean | undefined; password: Secret }): Promise<IssuedResult> {
  const index = await store.open();
  const bundle = await readBundle(file, opts.password, opts);
  const key = singleKey(bundle);
  checkKeyStrength(key, 'the private key in the file');
  const leaf = bundle.certs.find((c) => !c.ca && keyMatches(c, key));
  if (!leaf) throw caError('CA_IMPORT_KEY_MISMATCH', 'the private key does not belong to any certificate in the file');
  const roots = index.certificates.filter((c) => c.profile === 'root');
  let issuer: CertRecord | undefined;
  for (const r of roots) {
    if (issuedBy(leaf, new X509Certificate(await store.readText(store.rootCertPath(r.thumbprint))))) issuer = r;
  }
  if (!issuer) throw caError('CA_IMPORT_UNTRUSTED_CHAIN', `${leaf.subject.replace(/\n/g, ', ')} was not issued by a root CA in ${store.dir}`);
  const eku = leaf.keyUsage ?? [];
  if (!eku.includes(EKU_OID[opts.as])) {
    const need = opts.as === 'connector' ? 'clientAuth' : 'serverAuth';
    throw caError('CA_IMPORT_WRONG_EKU', `the certificate lacks the ${need} extended key usage a ${opts.as} certificate needs`);
  }
  checkValidity(leaf);
  const thumbprint = thumbprintOf(leaf);
  const known = index.certificates.find((c) => c.thumbprint === thumbprint);
  if (known?.status === 'revoked') throw caError('CA_IMPORT_REVOKED', `${thumbprint} is revoked in this store and cannot be imported`);
  const issuerThumbprint = issuer.thumbprint;
  return store.update(async (fresh) => {
    await store.writePrivate(store.keyPath(thumbprint), privateKeyPem(key));
    await store.writePublic(store.certPath(thumbprint), leaf.toString());
    const record = upsert(fresh, recordOf(leaf, { profile: opts.as, issuer: issuerThumbprint, hasKey: true, origin: 'imported' }));
    if (opts.makeDefault && opts.as === 'connector') fresh.defaultConnector = thumbprint;
    return {
      thumbprint,
      sha1: record.sha1,
      serial: record.serial,
      subject: record.subject,
      profile: opts.as,
      notBefore: record.notBefore,
      notAfter: record.notAfter,
      sans: record.sans,
      certPath: store.certPath(thumbprint),
      keyPath: store.keyPath(thumbprint),
      ...(opts.as === 'connector' ? { isDefault: fresh.defaultConnector === thumbprint } : {}),
    };
  });
}

