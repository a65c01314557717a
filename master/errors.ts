import { defineErrors } from '../core/errors.js';

/** The master's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const masterError = defineErrors('master', {
  MASTER_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the master; the log has the details.',
    action: 'Check the master log for the stack trace and report it with the request that caused it.',
  },
  MASTER_USAGE: {
    status: 400,
    meaning: 'The job was described with missing or conflicting options (e.g. both --command and words after --).',
    action: 'Give exactly one of: words after `--` (argv), --command LINE, or --script FILE; run with --help.',
  },
  MASTER_BAD_AGENT_URL: {
    status: 400,
    meaning: 'An --agent value or agents-file entry is not an https:// URL.',
    action: 'Use the gateway address, e.g. --agent https://host.example:8443 (several candidates: URL,URL).',
  },
  MASTER_AGENTS_FILE_INVALID: {
    status: 400,
    meaning: 'The agents file has lines that are not `[NAME] URL[,URL…]`; every bad line is listed.',
    action: 'Fix the lines named in the message; `#` starts a comment.',
  },
  MASTER_CREDENTIALS_MISSING: {
    status: 400,
    meaning: 'No client certificate, key or CA bundle was given for mutual TLS.',
    action: 'Pass --cert, --key and --ca (PEM) or --cert FILE.p12 with --password-file, or set OUTPOST_CERT, OUTPOST_KEY, OUTPOST_CA.',
  },
  MASTER_CREDENTIALS_UNREADABLE: {
    status: 400,
    meaning: 'A certificate, key or CA file could not be read or is not valid PEM / PKCS#12.',
    action: 'Check the path and permissions; the connector certificate comes from `outpost ca issue connector`.',
  },
  MASTER_PKCS12_BAD_PASSWORD: {
    status: 400,
    meaning: 'The PKCS#12 file (or encrypted key) could not be opened with the password given.',
    action: 'Check the file given with --password-file (first line is the password) or OUTPOST_CERT_PASSWORD.',
  },
  MASTER_AGENT_UNREACHABLE: {
    status: 502,
    meaning: 'No TCP connection could be made to the agent\'s gateway (refused, timed out, or no route).',
    action: 'Check that the gateway runs (`outpost gateway start`) and listens on the address in the URL.',
  },
  MASTER_TLS_FAILED: {
    status: 502,
    meaning: 'The TLS handshake with the gateway failed: its certificate is not trusted or does not match the URL, or it refused ours.',
    action: 'Check --ca is the root that issued the gateway\'s listener certificate, that the URL host is in its SANs, and that our connector certificate is valid and not revoked.',
  },
  MASTER_ACCESS_DENIED: {
    status: 403,
    meaning: 'The gateway refused the request (source address, client certificate or method not allowed).',
    action: 'Ask the gateway operator to add this master\'s source address and certificate to a rule with the needed methods; the gateway audit log has the reason.',
  },
  MASTER_REQUEST_REFUSED: {
    status: 400,
    meaning: 'The agent refused the request; its own error code is included in the message.',
    action: 'Look up the agent\'s code in ERRORS.md and correct the job request.',
  },
  MASTER_JOB_NOT_FOUND: {
    status: 404,
    meaning: 'The agent has no job with that id.',
    action: 'Check the id and that --agent names the agent the job ran on (`outpost job run --json` prints both).',
  },
  MASTER_AGENT_BUSY: {
    status: 503,
    meaning: 'The agent\'s queue is full and it asked us to retry later.',
    action: 'Retry after the time given, lower --concurrency, or raise the agent\'s queueLimit.',
  },
  MASTER_AGENT_ERROR: {
    status: 502,
    meaning: 'The agent or gateway answered with a server error or a response the master cannot read.',
    action: 'Check the agent and gateway logs at the time of the request.',
  },
  MASTER_AGENT_INCOMPATIBLE: {
    status: 502,
    meaning: 'The agent speaks another major version of the agent API than this master (its Outpost-Api-Version header), or announces none (an agent older than API versioning); the master refuses that host rather than misread it, before submitting anything to it.',
    action: 'Upgrade the older side: the message names both API versions and which to upgrade; `outpost agent status` shows both.',
  },
  MASTER_REQUEST_TIMEOUT: {
    status: 504,
    meaning: 'The agent did not answer in time.',
    action: 'Check the agent host\'s load and network; raise --request-timeout if the link is slow.',
  },
  MASTER_CONNECT_TIMEOUT: {
    status: 504,
    meaning: 'No TLS connection to the agent\'s gateway could be made within --connect-timeout (packets dropped, host down, or a listener that never answers).',
    action: 'Check that the host is up and its gateway listens on that port (firewall, routing); raise --connect-timeout for slow links.',
  },
  MASTER_OUTPUT_DIR_UNWRITABLE: {
    status: 400,
    meaning: 'The directory given with --output-dir could not be created or a host\'s output file could not be written there.',
    action: 'Give a directory the master can write (it is created with mode 0700 when missing); check free space.',
  },
  MASTER_NO_CANDIDATE: {
    status: 502,
    meaning: 'None of the candidate agents for a target was reachable.',
    action: 'Run again with --explain to see why each candidate was rejected.',
  },
  MASTER_OUTPUT_INTERRUPTED: {
    status: 502,
    meaning: 'Following a job\'s output failed repeatedly; the job itself may still be running.',
    action: 'Run `outpost job output ID --agent URL --offset N` to fetch the rest, and `outpost job status` for its state.',
  },
  MASTER_NOT_STARTED: {
    status: 503,
    meaning: 'A target\'s job was never submitted: the run was interrupted (Ctrl-C) or --time-span ended before its turn.',
    action: 'Run the job again on the targets marked skipped, or widen --time-span / raise --concurrency.',
  },
  MASTER_INVALID_JOB_ID: {
    status: 400,
    meaning: 'A job id contains characters other than lowercase letters, digits and hyphens.',
    action: 'Copy the id exactly as `outpost job run` printed it.',
  },
  MASTER_LIFECYCLE_FAILED: {
    status: 502,
    meaning: '`outpost ca rotate`, `publish-crl` or `maintain` failed for at least one gateway (or for the connector renewal); the table lists each failure with the gateway\'s own code.',
    action: 'Look up each gateway code in ERRORS.md (GATEWAY_CERT_*, GATEWAY_CRL_*); unreachable gateways need an admin rule for this master (`admin: true`) and a running gateway. Re-run the command: it only redoes what is still due.',
  },
});
