/**
 * What the lifecycle commands need from the CA store on the master: the default root unlocked once per
 * run, a signer for gateway CSRs, the current CRL and re-signing it, and renewing the default connector.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CaStore } from '../../ca/store.js';
import { parseCsr } from '../../ca/csr.js';
import { parseCrl } from '../../ca/crl.js';
import { caError } from '../../ca/errors.js';
import { isValidName } from '../../ca/profiles.js';
import { lifetimeOfSpan } from '../../ca/lifetime.js';
import { unlockRoot, signCsrWith, renew, DAY, type Secret, type UnlockedRoot, type IssuedResult } from '../../ca/authority.js';
import { writeCrlLocked, type CrlResult } from '../../ca/revocation.js';
import type { ListenerSigner } from './operations.js';

export interface CurrentCrl {
  pem: string;
  crlNumber: number;
  thisUpdate: string;
  nextUpdate: string | null;
}

export class CaContext {
  readonly store: CaStore;
  #root: Promise<UnlockedRoot> | undefined;

  constructor(dir: string, private readonly passphrase: Secret) {
    this.store = new CaStore(dir);
  }

  root(): Promise<UnlockedRoot> {
    this.#root ??= this.store.open().then((index) => unlockRoot(this.store, index, this.passphrase));
    return this.#root;
  }

  /** Signs with `lifetimeMs`, or keeps the lifetime of the certificate being replaced. */
  listenerSigner(lifetimeMs: number | undefined): ListenerSigner {
    return async (csrPem, currentSpanMs) => {
      let parsed;
      try {
        parsed = parseCsr(csrPem);
      } catch (err) {
        throw caError('CA_CSR_INVALID', `the gateway's CSR: ${(err as Error).message}`, { cause: err });
      }
      if (!isValidName(parsed.commonName)) throw caError('CA_CSR_INVALID', `the gateway's CSR names ${JSON.stringify(parsed.commonName)}`);
      const r = await signCsrWith(this.store, await this.root(), {
        profile: 'listener', name: parsed.commonName, sans: parsed.sans, publicKey: parsed.publicKey,
        lifetimeMs: lifetimeMs ?? lifetimeOfSpan(currentSpanMs),
      });
      return { certPem: await this.store.readText(r.certPath), serial: r.serial, notAfter: r.notAfter };
    };
  }

  /** The store's CRL, checked against the default root; undefined when none was signed yet. */
  async currentCrl(): Promise<CurrentCrl | undefined> {
    const index = await this.store.open();
    const pem = await readFile(this.store.crlPath, 'utf8').catch(() => undefined);
    if (pem === undefined || !index.defaultRoot) return undefined;
    const parsed = parseCrl(pem, new X509Certificate(await this.store.readText(this.store.rootCertPath(index.defaultRoot))));
    return { pem, crlNumber: parsed.crlNumber ?? 0, thisUpdate: parsed.thisUpdate.toISOString(), nextUpdate: parsed.nextUpdate?.toISOString() ?? null };
  }

  async resignCrl(lifetimeMs: number): Promise<CrlResult> {
    const root = await this.root();
    return this.store.update((index) => writeCrlLocked(this.store, index, root, lifetimeMs));
  }

  /** The default connector's record, or undefined when the store has none. */
  async defaultConnector(): Promise<{ thumbprint: string; notBefore: string; notAfter: string; hasKey: boolean } | undefined> {
    const index = await this.store.open();
    const t = index.defaultConnector;
    return t ? index.certificates.find((c) => c.thumbprint === t) : undefined;
  }

  async renewConnector(thumbprint: string, lifetimeMs: number | undefined, currentSpanMs: number): Promise<IssuedResult> {
    return renew(this.store, { thumbprintOrSerial: thumbprint, lifetimeMs: lifetimeMs ?? lifetimeOfSpan(currentSpanMs), passphrase: this.passphrase });
  }
}

export const DEFAULT_CRL_LIFETIME_MS = 7 * DAY;
