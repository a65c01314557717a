/**
 * The JSON of the gateway's `GET /v1/gateway/tls` (and of the PUT answers): written by the gateway
 * (gateway/admin/tls-facts.ts), read by the master (`outpost ca fleet|rotate|maintain`). One definition
 * for both sides, so they cannot drift apart.
 */
export interface CertFacts {
  subject: string;
  serial: string;
  sha256: string;
  notBefore: string;
  notAfter: string;
  /** `dns:NAME` / `ip:ADDRESS`, as `outpost ca` prints them. */
  sans: string[];
  keyType: string;
}

export interface CrlFacts {
  crlNumber: number | null;
  thisUpdate: string;
  nextUpdate: string | null;
  /** SHA-256 of the CA certificate whose signature the CRL carries; null when none in tls.ca verifies it. */
  issuer: string | null;
}

export interface PendingFacts {
  keyType: string;
  publicKeySha256: string;
  createdAt: string;
}

export interface TlsFacts {
  certificate: CertFacts;
  ca: CertFacts[];
  crl: CrlFacts | null;
  pending: PendingFacts | null;
  /** True while the pair replaced by the last rotation is still kept on disk (until a handshake with the new one). */
  previousRetained: boolean;
}
