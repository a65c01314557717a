/**
 * One step of the access policy. A rule is an ordered array of checks; each returns the reason it denies
 * or undefined. Connection-phase checks (source address, client certificate) decide whether a rule
 * applies to a connection at all; request-phase checks (method) decide within the rule that applied.
 */
import type { ParsedAddress } from './cidr.js';

export type DenyReason = 'IP_NOT_ALLOWED' | 'CLIENT_NOT_ALLOWED' | 'METHOD_NOT_ALLOWED';

/** What is known once the TLS handshake is done: it holds for every request on the connection. */
export interface ConnectionFacts {
  source: ParsedAddress | undefined;
  /** SHA-256 of the DER client certificate, uppercase hex without colons; undefined without a certificate. */
  thumbprint: string | undefined;
  /** Subject attributes as KEY=value pairs (uppercase keys), in certificate order. */
  subjectPairs: readonly string[] | undefined;
}

export interface ConnectionCheck {
  readonly kind: 'ipAllowlist' | 'clientCert';
  readonly phase: 'connection';
  run(facts: ConnectionFacts): DenyReason | undefined;
}

export interface RequestCheck {
  readonly kind: 'methodPolicy';
  readonly phase: 'request';
  run(method: string): DenyReason | undefined;
}

export type Check = ConnectionCheck | RequestCheck;
