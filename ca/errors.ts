import { defineErrors } from '../core/errors.js';

/** The ca's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const caError = defineErrors('ca', {
  CA_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the ca; the log has the details.',
    action: 'Check the ca log for the stack trace and report it with the request that caused it.',
  },
  CA_STORE_NOT_FOUND: {
    status: 404,
    meaning: 'The CA store directory has no root CA (nothing at --ca-dir, default $OUTPOST_HOME/ca).',
    action: 'Run `outpost ca init` (or `outpost ca import-root F.p12 --make-default` on a standby), or pass the right --ca-dir.',
  },
  CA_STORE_EXISTS: {
    status: 409,
    meaning: '`ca init` found a root CA already in the store; it never overwrites one.',
    action: 'Use the existing CA (`outpost ca list`), or choose another --ca-dir.',
  },
  CA_STORE_CORRUPT: {
    status: 500,
    meaning: 'A file of the CA store (index.json, a certificate or a key) is missing or unreadable.',
    action: 'Restore the store directory from backup, or re-import the root with `outpost ca import-root`.',
  },
  CA_STORE_INSECURE: {
    status: 500,
    meaning: 'The CA store directory is readable or writable by other users.',
    action: 'Run `chmod 700` on the store directory (and `chmod 600` on the files in it), then retry.',
  },
  CA_BAD_PASSPHRASE: {
    status: 401,
    meaning: 'The passphrase does not open the root CA key.',
    action: 'Give the passphrase chosen at `ca init` / `ca import-root` (--password-file or OUTPOST_CA_PASSWORD).',
  },
  CA_PASSWORD_TOO_SHORT: {
    status: 400,
    meaning: 'A new passphrase or export password is shorter than 8 characters.',
    action: 'Choose a longer passphrase (a random one from a password manager is best).',
  },
  CA_INVALID_NAME: {
    status: 400,
    meaning: 'A certificate name (common name) is empty, too long or has characters other than letters, digits, space, . _ @ -.',
    action: 'Use a host or service name such as `agent-01` or `master.example.com`.',
  },
  CA_INVALID_SAN: {
    status: 400,
    meaning: 'A subject alternative name is neither `dns:NAME` (a valid host name) nor `ip:ADDRESS`.',
    action: 'Give --san as a comma-separated list such as `dns:agent-01.example.com,ip:192.0.2.7`.',
  },
  CA_INVALID_KEY_SIZE: {
    status: 400,
    meaning: 'The key type is not one the CA generates.',
    action: 'Use --key rsa-2048, rsa-3072 (the default), rsa-4096, ec-p256 or ec-p384.',
  },
  CA_INVALID_VALIDITY: {
    status: 400,
    meaning: 'The validity period (--days) is not a whole number of days within the allowed range.',
    action: 'Give --days between 1 and 3650 (leaf certificates) or 36500 (root).',
  },
  CA_OUTPUT_EXISTS: {
    status: 409,
    meaning: 'The output file already exists; the CA never overwrites a file silently.',
    action: 'Remove the file or choose another --out path.',
  },
  CA_CERT_NOT_FOUND: {
    status: 404,
    meaning: 'No certificate in the store has that thumbprint or serial number.',
    action: 'Run `outpost ca list` for thumbprints (SHA-256, 64 hex digits; colons and case do not matter).',
  },
  CA_ALREADY_REVOKED: {
    status: 409,
    meaning: 'The certificate is already revoked.',
    action: 'Nothing to do; run `outpost ca crl` if the CRL needs publishing again.',
  },
  CA_NO_PRIVATE_KEY: {
    status: 409,
    meaning: 'The store does not hold this certificate\'s private key (it was signed from a CSR, so the key stayed on its host).',
    action: 'Export the certificate alone as PEM, or export from the host that holds the key.',
  },
  CA_KEY_TOO_WEAK: {
    status: 400,
    meaning: 'The key to be certified or imported is too weak: RSA under 2048 bits (or a key type other than RSA, EC P-256/P-384/P-521, Ed25519, Ed448).',
    action: 'Make a new key of RSA-2048 or more (`outpost ca request --key rsa-3072`, `openssl req -newkey rsa:3072`) and sign or export again.',
  },
  CA_CSR_INVALID: {
    status: 400,
    meaning: 'The certificate signing request could not be read, its key is not RSA or EC (P-256, P-384, P-521), or its self-signature does not verify.',
    action: 'Create it again with `outpost ca request` (or `openssl req -new`) and pass the PEM file unchanged.',
  },
  CA_PROFILE_INVALID: {
    status: 400,
    meaning: 'The profile is not `connector` or `listener`, or a listener certificate has no SAN.',
    action: 'Pass --profile connector|listener; listener certificates need --san dns:…/ip:… (or a CSR that carries SANs).',
  },
  CA_PEM_MALFORMED: {
    status: 400,
    meaning: 'A PEM file has no certificate, or its blocks cannot be decoded.',
    action: 'Check the file is the PEM that `outpost ca export` wrote (certificate and ENCRYPTED PRIVATE KEY blocks).',
  },
  CA_PKCS12_MALFORMED: {
    status: 400,
    meaning: 'The file is not a readable PKCS#12 (.p12/.pfx) file.',
    action: 'Check that the file was copied completely and in binary mode, then export it again if needed.',
  },
  CA_PKCS12_NO_MAC: {
    status: 400,
    meaning: 'The PKCS#12 file has no integrity MAC, so its contents could have been swapped unnoticed.',
    action: 'Export it again with a MAC (do not use `openssl pkcs12 -nomac`).',
  },
  CA_PKCS12_BAD_PASSWORD: {
    status: 401,
    meaning: 'The password does not open the encrypted PEM key, or does not verify the PKCS#12 file\'s integrity MAC: it is not the export password, or the file was altered after export (as with OpenSSL, the two look alike).',
    action: 'Give the password used at export time (--p12-password-file or OUTPOST_P12_PASSWORD); if it is right, the file was damaged or altered: export a fresh copy and transfer it again.',
  },
  CA_PKCS12_TOO_COSTLY: {
    status: 400,
    meaning: 'The PKCS#12 file asks for more key-derivation work (iterations summed over its MAC and encrypted parts) than the import limit (3,000,000 by default); it was refused before any of that work.',
    action: 'Re-export with a usual count (`outpost ca export --iterations`, `openssl pkcs12 -export -iter 2048`), or, if you trust where the file comes from, retry with --max-iterations at least the sum the message gives.',
  },
  CA_PKCS12_UNSUPPORTED: {
    status: 400,
    meaning: 'The PKCS#12 file uses an algorithm Outpost does not read (e.g. RC2 or public-key integrity).',
    action: 'Re-export with AES-256 (OpenSSL 3 default) or 3DES (`openssl pkcs12 -export -legacy -certpbe PBE-SHA1-3DES`).',
  },
  CA_IMPORT_NO_KEY: {
    status: 400,
    meaning: 'The file holds no private key, or more than one.',
    action: 'Export the certificate together with exactly one private key.',
  },
  CA_IMPORT_KEY_MISMATCH: {
    status: 400,
    meaning: 'The private key in the file does not belong to the certificate.',
    action: 'Export the certificate with its own key from the source CA.',
  },
  CA_IMPORT_NOT_A_CA: {
    status: 400,
    meaning: 'import-root was given a certificate that is not a self-signed CA certificate (CA:TRUE).',
    action: 'Use the file written by `outpost ca export-root`; leaf certificates go through `outpost ca import`.',
  },
  CA_IMPORT_UNTRUSTED_CHAIN: {
    status: 400,
    meaning: 'The certificate was not issued by a root CA held in this store.',
    action: 'Import the issuing root first (`outpost ca import-root`), or import the certificate into that CA\'s store.',
  },
  CA_IMPORT_WRONG_EKU: {
    status: 400,
    meaning: 'The certificate\'s extended key usage does not fit the slot (connector needs clientAuth, listener serverAuth).',
    action: 'Import it with the right --as connector|listener, or issue a certificate with the right profile.',
  },
  CA_IMPORT_EXPIRED: {
    status: 400,
    meaning: 'The certificate has expired.',
    action: 'Renew it on the source CA (`outpost ca renew THUMBPRINT`) and export the new one.',
  },
  CA_IMPORT_NOT_YET_VALID: {
    status: 400,
    meaning: 'The certificate\'s validity starts in the future (or this machine\'s clock is behind).',
    action: 'Check the clock on both machines (NTP), or wait until the certificate\'s notBefore.',
  },
  CA_IMPORT_REVOKED: {
    status: 400,
    meaning: 'The certificate is revoked in this store (its revocation came with the root from export-root).',
    action: 'Issue a new certificate (`outpost ca issue …` or `outpost ca renew THUMBPRINT`) instead of importing the revoked one.',
  },
  CA_INPUT_UNREADABLE: {
    status: 400,
    meaning: 'An input file (PKCS#12, PEM or CSR) could not be read.',
    action: 'Check the path and that the user running outpost may read the file.',
  },
  CA_IMPORT_CRL_INVALID: {
    status: 400,
    meaning: 'The revocation list carried in an export-root file is not signed by that root.',
    action: 'Do not use this file; export the root again from the primary CA.',
  },
});
