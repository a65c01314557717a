import { defineErrors } from '../core/errors.js';

/** The gateway's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const gatewayError = defineErrors('gateway', {
  GATEWAY_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the gateway; the log has the details.',
    action: 'Check the gateway log for the stack trace and report it with the request that caused it.',
  },
  GATEWAY_POLICY_INVALID: {
    status: 500,
    meaning: 'An access rule could not be compiled (bad CIDR, bad thumbprint, unsupported method); the message names the rule by its path.',
    action: 'Fix the rule at the path given in gateway.yaml (access[N]…) and start or reload again.',
  },
  GATEWAY_KEY_PERMISSIONS: {
    status: 500,
    meaning: 'The TLS private key file is readable by users other than the gateway\'s own user, or owned by another user.',
    action: 'Run `chown outpost-gw: KEY && chmod 600 KEY` (the gateway user owns its key, nobody else reads it).',
  },
  GATEWAY_TLS_FILE_UNREADABLE: {
    status: 500,
    meaning: 'A certificate, key, CA bundle or CRL file named under tls: could not be read or parsed.',
    action: 'Check the path and that the gateway user may read it; re-export the file with `outpost ca export` / `outpost ca crl`.',
  },
  GATEWAY_TLS_KEY_TOO_WEAK: {
    status: 500,
    meaning: 'The gateway\'s own certificate or a CA certificate under tls: has a weak key (RSA under 2048 bits); clients with such keys are refused too.',
    action: 'Issue a new listener certificate (`outpost ca issue listener`, RSA-2048 or more) or a new CA, and point tls.cert/tls.key/tls.ca at it.',
  },
  GATEWAY_LISTEN_FAILED: {
    status: 500,
    meaning: 'The gateway could not bind its listening address (in use, or not permitted).',
    action: 'Pick a free port in listen.port, or stop the process holding it (`ss -ltnp`).',
  },
  GATEWAY_IP_NOT_ALLOWED: {
    status: 403,
    meaning: 'The source address matches no access rule.',
    action: 'Add the client\'s address (CIDR) to the sources of an access rule and reload (SIGHUP).',
  },
  GATEWAY_CLIENT_NOT_ALLOWED: {
    status: 403,
    meaning: 'The source address is allowed, but the client certificate matches none of the rules for that address.',
    action: 'Pin the client\'s thumbprint or subject in the rule\'s clients: and reload, or use the right connector certificate.',
  },
  GATEWAY_METHOD_NOT_ALLOWED: {
    status: 403,
    meaning: 'The access rule that matched the client does not allow this method (a monitoring client sent POST).',
    action: 'Use a client and address whose rule allows the method, or add the method to that rule\'s methods.',
  },
  GATEWAY_METHOD_REFUSED: {
    status: 405,
    meaning: 'Only GET and POST ever reach the agent; other methods, CONNECT and protocol upgrades are refused.',
    action: 'Use GET or POST as the agent API documents.',
  },
  GATEWAY_BAD_REQUEST: {
    status: 400,
    meaning: 'The request was ambiguous or malformed in a way used for request smuggling (body on GET, Content-Length with Transfer-Encoding, duplicate Content-Length, unknown Transfer-Encoding).',
    action: 'Send one Content-Length or chunked encoding, never both, and no body with GET.',
  },
  GATEWAY_BODY_TOO_LARGE: {
    status: 413,
    meaning: 'The request body is larger than limits.maxBodyBytes.',
    action: 'Send a smaller request or raise limits.maxBodyBytes in gateway.yaml.',
  },
  GATEWAY_UPSTREAM_UNAVAILABLE: {
    status: 502,
    meaning: 'The gateway could not reach the agent (socket missing, agent down, connection refused).',
    action: 'Start the agent (`systemctl start outpost-agent`) and check upstream: in gateway.yaml points to its socket.',
  },
  GATEWAY_UPSTREAM_INVALID: {
    status: 502,
    meaning: 'The agent sent a malformed HTTP response (bad status line or header, conflicting Content-Length, Transfer-Encoding other than chunked, broken chunk framing); the gateway dropped that connection.',
    action: 'Check that upstream: in gateway.yaml points to the Outpost agent and not to another service; the message of the 502 answer says what was malformed.',
  },
  GATEWAY_UPSTREAM_TIMEOUT: {
    status: 504,
    meaning: 'The agent did not answer within limits.upstreamTimeoutMs.',
    action: 'Check the agent\'s log and load; raise limits.upstreamTimeoutMs if answers are legitimately slow.',
  },
  GATEWAY_SECRET_UNREADABLE: {
    status: 500,
    meaning: 'upstream.secretFile could not be read, is empty, or holds characters other than printable ASCII (it is sent in a header).',
    action: 'Create the secret file (0600, owned by the gateway user) with the same secret the agent uses.',
  },
  GATEWAY_NGINX_PIN_UNRESOLVED: {
    status: 400,
    meaning: 'nginx can only pin clients by SHA-1 fingerprint; a SHA-256 thumbprint pin had no certificate file to derive it from.',
    action: 'Pass the pinned certificate with `--client-cert FILE` (repeatable) or pin by subject instead.',
  },
  GATEWAY_NGINX_ADMIN_RULE: {
    status: 400,
    meaning: 'An access rule has `admin: true`; nginx cannot serve the gateway\'s admin routes (certificate and CRL rotation) and would forward them to the agent.',
    action: 'Remove the admin rule from the configuration given to nginx-config, or run `outpost gateway start` where certificates are rotated by `outpost ca rotate`.',
  },
  GATEWAY_ADMIN_NOT_ALLOWED: {
    status: 403,
    meaning: 'A request for an admin route (/v1/gateway/…) came from a client that no `admin: true` rule admits; admin routes are never forwarded to the agent.',
    action: 'Add an access rule with `admin: true` that lists the master\'s source address and pins its connector certificate (subject or thumbprint), then reload.',
  },
  GATEWAY_ADMIN_ROUTE_UNKNOWN: {
    status: 404,
    meaning: 'No admin route has this path and method (the routes are GET /v1/gateway/tls, POST /v1/gateway/csr, PUT /v1/gateway/certificate, PUT /v1/gateway/crl).',
    action: 'Use one of the admin routes; `outpost ca rotate|publish-crl|fleet` call them for you.',
  },
  GATEWAY_ADMIN_BAD_REQUEST: {
    status: 400,
    meaning: 'The admin request body is not what the route takes (a PEM certificate chain or a PEM CRL, at most 64 KiB).',
    action: 'Send the PEM text as the body, as `outpost ca rotate` and `outpost ca publish-crl` do.',
  },
  GATEWAY_NO_PENDING_KEY: {
    status: 409,
    meaning: 'A certificate was offered but the gateway holds no pending key: no CSR was made, or the rotation it belonged to already finished.',
    action: 'Start again with POST /v1/gateway/csr (`outpost ca rotate` does the whole sequence).',
  },
  GATEWAY_CERT_KEY_MISMATCH: {
    status: 422,
    meaning: 'The certificate offered is not for the gateway\'s pending key (signed from another CSR, or a CSR superseded by a newer one).',
    action: 'Sign the CSR the gateway returned last; if two rotations ran at once, run `outpost ca rotate` again for this gateway.',
  },
  GATEWAY_CERT_UNTRUSTED: {
    status: 422,
    meaning: 'The certificate offered is not signed by a CA in the gateway\'s tls.ca bundle.',
    action: 'Sign it with the CA the gateway trusts (the CA store\'s default root), or update tls.ca first.',
  },
  GATEWAY_CERT_WRONG_PURPOSE: {
    status: 422,
    meaning: 'The certificate offered is not a TLS server certificate (no serverAuth extended key usage, or a CA certificate).',
    action: 'Sign the CSR with the listener profile (`outpost ca sign --profile listener`).',
  },
  GATEWAY_CERT_EXPIRED: {
    status: 422,
    meaning: 'The certificate offered has expired or is not valid yet; installing it would make every client refuse the gateway.',
    action: 'Check the CA host\'s clock and sign the CSR again with a longer --lifetime.',
  },
  GATEWAY_CRL_NOT_CONFIGURED: {
    status: 409,
    meaning: 'A CRL was offered but the gateway has no tls.crl file to keep it in.',
    action: 'Add tls.crl (a path the gateway user may write) to gateway.yaml and reload, then publish again.',
  },
  GATEWAY_CRL_INVALID: {
    status: 422,
    meaning: 'The CRL offered cannot be parsed, carries no CRL number, or is already past its nextUpdate (OpenSSL would refuse every client with it).',
    action: 'Sign a fresh CRL with `outpost ca crl` (or let `outpost ca maintain` do it) and publish it again.',
  },
  GATEWAY_CRL_FOREIGN: {
    status: 422,
    meaning: 'The CRL offered is not signed by a CA in the gateway\'s tls.ca bundle.',
    action: 'Publish the CRL of the CA that issued the gateway\'s clients (`outpost ca publish-crl` with the right --ca-dir).',
  },
  GATEWAY_CRL_NOT_NEWER: {
    status: 409,
    meaning: 'The CRL offered has a CRL number no higher than the one the gateway serves; an older CRL could un-revoke certificates.',
    action: 'Nothing to do if the gateway already has this CRL; otherwise sign a fresh one (`outpost ca crl`) and publish it.',
  },
  GATEWAY_ROTATION_FAILED: {
    status: 500,
    meaning: 'The gateway could not write or load its new key, certificate or CRL; it keeps serving the previous ones.',
    action: 'Check that the gateway user may write the directories of tls.cert, tls.key and tls.crl; the gateway log has the cause.',
  },
});
