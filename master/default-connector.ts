/**
 * The CA store's default connector certificate as the master's TLS identity, when no --cert or
 * OUTPOST_CERT is given: the certificate and key the store holds for it, and the default root as the CA
 * that verifies the gateways. `outpost ca maintain` renews that certificate, so commands that use it pick
 * up the renewed one without a configuration change.
 */
import { access } from 'node:fs/promises';
import { CaStore, defaultCaDir } from '../ca/store.js';

export interface ConnectorFiles {
  cert: string;
  key: string;
  ca: string;
  thumbprint: string;
}

/** The files of the default connector, or undefined when the store has none (or no key for it). */
export async function defaultConnectorFiles(caDir?: string): Promise<ConnectorFiles | undefined> {
  const store = new CaStore(caDir ?? defaultCaDir());
  if (!(await store.exists())) return undefined;
  const index = await store.open();
  const t = index.defaultConnector;
  const record = t ? index.certificates.find((c) => c.thumbprint === t) : undefined;
  if (!t || !record?.hasKey || !index.defaultRoot) return undefined;
  const files = { cert: store.certPath(t), key: store.keyPath(t), ca: store.rootCertPath(index.defaultRoot), thumbprint: t };
  try {
    await Promise.all([access(files.cert), access(files.key), access(files.ca)]);
  } catch {
    return undefined;
  }
  return files;
}
