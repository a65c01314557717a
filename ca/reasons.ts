/** Kept apart from crl.ts so the CLI can list the reasons without loading forge. */
/** CRLReason values (RFC 5280 5.3.1) that an operator may give. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;
