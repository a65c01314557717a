import { defineErrors } from '../core/errors.js';

/** The agent's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const agentError = defineErrors('agent', {
  AGENT_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the agent; the log has the details.',
    action: 'Check the agent log for the stack trace and report it with the request that caused it.',
  },
  // Agent core: listening, API, jobs, run-as, credentials (agent/*).
  AGENT_LISTEN_NOT_LOOPBACK: {
    status: 500,
    meaning: 'listen.host in agent.yaml is not a loopback address; the agent only ever listens on loopback.',
    action: 'Use listen.socket (preferred) or listen.host 127.0.0.1 / ::1 and put the gateway in front for remote access.',
  },
  AGENT_LISTEN_FAILED: {
    status: 500,
    meaning: 'The agent could not open its socket or port (in use, missing directory, or no permission).',
    action: 'Check that no other agent uses the socket/port, that the socket directory exists and is writable, and that listen.group exists.',
  },
  AGENT_SECRET_UNREADABLE: {
    status: 500,
    meaning: 'listen.secretFile is missing, empty, or readable by other users.',
    action: 'Create the file with at least 32 random bytes (e.g. `openssl rand -hex 32`), owned by the agent user, mode 0640 or stricter, group of the gateway user.',
  },
  AGENT_DATA_DIR_LOCKED: {
    status: 500,
    meaning: 'Another agent process is already using this dataDir.',
    action: 'Stop the other agent (its pid is in the message) or give this one a different dataDir.',
  },
  AGENT_DATA_DIR_INSECURE: {
    status: 500,
    meaning: 'dataDir (job records, output, journal, credential store) is not owned by the agent user or is open to group or others.',
    action: 'chown the directory named in the message to the agent user and chmod 700 it (scripts/install does both).',
  },
  AGENT_JOB_ISOLATION_UNSAFE: {
    status: 500,
    meaning: 'With jobIsolation: strict, the configuration lets a job run as a user that can read the agent\'s state: the agent\'s own user, root, or a member of the group that may connect to the agent.',
    action: 'Set runAs.defaultUser to a dedicated job user (scripts/install creates outpost-job), keep the agent user and root out of runAs.allowedUsers, and keep job users out of listen.group; or, on a single-user demo or development machine only, set jobIsolation: warn.',
  },
  AGENT_LAUNCHER_UNAVAILABLE: {
    status: 503,
    meaning: 'The job launcher (a small Perl process) is not running, or the agent cannot reach it on launcherSocket, so no local job can start.',
    action: 'Make sure /usr/bin/perl exists (package perl-base); the agent log says why the launcher stopped. With launcherSocket set, start outpost-launcher.service (the agent reconnects by itself); otherwise restart the agent.',
  },
  AGENT_UNAUTHENTICATED: {
    status: 401,
    meaning: 'A TCP request without the right x-outpost-secret header: only the gateway may talk to the agent.',
    action: 'Send requests through the gateway; check that the gateway\'s upstream.secretFile is the agent\'s listen.secretFile.',
  },
  AGENT_BAD_JSON: {
    status: 400,
    meaning: 'The request body is not valid JSON.',
    action: 'Send a JSON object with Content-Type: application/json.',
  },
  AGENT_BAD_REQUEST: {
    status: 400,
    meaning: 'The request failed validation (unknown field, wrong type, missing or conflicting field, bad query parameter).',
    action: 'Fix the fields named in the message; unknown fields are rejected, not ignored.',
  },
  AGENT_API_VERSION_UNSUPPORTED: {
    status: 400,
    meaning: 'The client announced (Outpost-Api-Version header) an API major version this agent does not speak, so it might misread the request; nothing was done. Clients that send no such header are served.',
    action: 'Use a master of the same API major as the agent (`outpost agent status` shows both), i.e. upgrade the older of the two.',
  },
  AGENT_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'A request body was sent with a Content-Type other than application/json.',
    action: 'Send Content-Type: application/json.',
  },
  AGENT_BODY_TOO_LARGE: {
    status: 413,
    meaning: 'The request body exceeds the agent\'s limit (1 MiB).',
    action: 'Put large scripts in a file on the host and run it, or shorten the request.',
  },
  AGENT_INVALID_JOB_ID: {
    status: 400,
    meaning: 'A job id in the path is not of the form the agent issues (lowercase letters, digits, hyphens).',
    action: 'Use the id returned by POST /v1/jobs.',
  },
  AGENT_JOB_NOT_FOUND: {
    status: 404,
    meaning: 'No job with this id exists (never created, or removed by the retention policy).',
    action: 'List jobs with GET /v1/jobs; raise retention.maxAgeDays / retention.maxJobs to keep jobs longer.',
  },
  AGENT_NOT_FOUND: {
    status: 404,
    meaning: 'No such endpoint.',
    action: 'See the agent API in the documentation (POST /v1/jobs, GET /v1/jobs/{id}, …).',
  },
  AGENT_METHOD_NOT_ALLOWED: {
    status: 405,
    meaning: 'The endpoint exists but not with this HTTP method.',
    action: 'Use the method shown in the Allow header.',
  },
  AGENT_JOB_FINISHED: {
    status: 409,
    meaning: 'Cancel or abort of a job that has already ended.',
    action: 'Nothing to do; GET the job to see how it ended.',
  },
  AGENT_QUEUE_FULL: {
    status: 503,
    meaning: 'maxConcurrentJobs are running and the queue holds queueLimit jobs; the job was not accepted.',
    action: 'Retry after the Retry-After seconds, or raise maxConcurrentJobs / queueLimit in agent.yaml.',
  },
  AGENT_SHUTTING_DOWN: {
    status: 503,
    meaning: 'The agent is stopping and accepts no new jobs.',
    action: 'Retry once the agent is back; running jobs continue and are re-attached.',
  },
  AGENT_INTERPRETER_NOT_ALLOWED: {
    status: 403,
    meaning: 'The requested interpreter is not in interpreterWhitelist (after localInterpreter mapping).',
    action: 'Use a whitelisted interpreter or ask the agent\'s administrator to add it to interpreterWhitelist.',
  },
  // Permissions and templates (agent/permissions.ts, agent/templates.ts).
  AGENT_PERMISSION_DENIED: {
    status: 403,
    meaning: 'The client\'s permission rule (permissions: in agent.yaml, matched on the certificate identity the gateway forwards) does not grant what the request asked; details name what was asked and the rule that matched.',
    action: 'GET /v1/whoami through the same gateway shows the identity the agent sees, the rule that matched and its grants; ask the administrator to extend that rule or use a template it grants.',
  },
  AGENT_TEMPLATE_UNKNOWN: {
    status: 400,
    meaning: 'template names no entry of templates: in agent.yaml (or it was removed by a reload while the job was queued).',
    action: 'GET /v1/templates (or `outpost job templates --agent URL`) lists the templates of this agent.',
  },
  AGENT_TEMPLATE_INPUT_INVALID: {
    status: 400,
    meaning: 'A template input broke its rule (type, pattern, maxLength, option-like, min, max, enum or credentialKeys); details name the input and the rule.',
    action: 'Give a value the input accepts: GET /v1/templates shows each input\'s type and rule.',
  },
  AGENT_TEMPLATE_INPUT_MISSING: {
    status: 400,
    meaning: 'A required template input was not given.',
    action: 'Add the input named in the message (`--input NAME=VALUE` on the master).',
  },
  AGENT_TEMPLATE_INPUT_UNKNOWN: {
    status: 400,
    meaning: 'The request gave an input the template does not declare.',
    action: 'Check the spelling against the template\'s inputs (GET /v1/templates); input names are case-sensitive.',
  },
  AGENT_RUNAS_NOT_ALLOWED: {
    status: 403,
    meaning: 'runAs names a user that is not in runAs.allowedUsers (for SSH jobs: the process server\'s allowedUsers when it has one), or was removed from it while the job was queued; with jobIsolation: strict, also the agent\'s own user.',
    action: 'Use a user from runAs.allowedUsers (or the process server\'s allowedUsers), or ask the administrator to add it.',
  },
  AGENT_RUNAS_REFUSED: {
    status: 403,
    meaning: 'The user is allowed by agent.yaml but sudo (or su) refused to switch to it without a password.',
    action: 'Add a sudoers rule such as `outpost ALL=(batch) NOPASSWD: ALL` (see docs/agent.md) and check it with `sudo -n -l -u batch` as the agent user.',
  },
  AGENT_CREDENTIAL_NOT_ALLOWED: {
    status: 403,
    meaning: 'The job names a credentialKey its process server does not permit (not its credentialKey nor in its credentialKeys).',
    action: 'Use the process server\'s own credential, or ask the administrator to add the key to that server\'s credentialKeys in agent.yaml.',
  },
  AGENT_SECRET_ENV_NOT_ALLOWED: {
    status: 403,
    meaning: 'A secretEnv entry names a credential key that jobs on this target may not read (secretEnvKeys in agent.yaml, per process server for SSH jobs).',
    action: 'Ask the administrator to add the key to secretEnvKeys (top level for local jobs, the process server\'s entry for SSH jobs).',
  },
  AGENT_SECRET_ENV_NOT_PASSWORD: {
    status: 400,
    meaning: 'A secretEnv entry names a private-key credential; only password credentials can become environment values.',
    action: 'Store the value as a password credential (`outpost agent credentials add KEY --password-file F`) and name that key.',
  },
  AGENT_CWD_INVALID: {
    status: 400,
    meaning: 'cwd is not an absolute path.',
    action: 'Give cwd as an absolute path such as /srv/app.',
  },
  AGENT_PROCESS_SERVER_UNKNOWN: {
    status: 400,
    meaning: 'processServer names no entry of processServers in agent.yaml.',
    action: 'Use a name from GET /v1/status (processServers) or add the server to agent.yaml.',
  },
  AGENT_PROCESS_SERVER_UNAVAILABLE: {
    status: 503,
    meaning: 'The process server is configured but its SSH executor could not be set up at start.',
    action: 'Read the agent log at startup for the reason, fix the processServers entry, and restart the agent.',
  },
  AGENT_JOB_START_FAILED: {
    status: 500,
    meaning: 'The executor could not launch the job; it is recorded as failed with the reason.',
    action: 'GET the job for the message; check the agent log.',
  },
  AGENT_IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    meaning: 'The Idempotency-Key header is empty, longer than 128 characters, given twice, or has characters other than letters, digits and . _ : -.',
    action: 'Send one key per submission, e.g. a UUID or `<run id>:<host>`; see docs/agent.md, "Submitting a job exactly once".',
  },
  AGENT_IDEMPOTENCY_KEY_REUSED: {
    status: 409,
    meaning: 'The Idempotency-Key was already used, within the retention window, for a job with a different request body; nothing was started.',
    action: 'Use a new key for a different job; resend a lost submission with exactly the body it had the first time.',
  },
  AGENT_STORE_FAILED: {
    status: 500,
    meaning: 'The job record could not be written durably to dataDir, so the job was not accepted.',
    action: 'Check free space and permissions of dataDir.',
  },
  AGENT_JOURNAL_TOO_NEW: {
    status: 500,
    meaning: 'The job journal or snapshot in dataDir was written by a newer agent, in a format version this agent does not know (a downgrade); the agent refuses to start and changes nothing in dataDir.',
    action: 'Run the newer agent release again (the message names both format versions), or move dataDir aside to start this release with an empty job history.',
  },
  AGENT_STORE_FULL: {
    status: 507,
    meaning: 'The job journal could not be written because dataDir\'s filesystem is full (ENOSPC or quota); nothing of the request was kept, and the journal was cut back to its last whole line.',
    action: 'Free space on dataDir\'s filesystem (GET /v1/status shows `store.lastError` until a write succeeds again), then retry.',
  },
  AGENT_DISK_LOW: {
    status: 507,
    meaning: 'dataDir\'s filesystem has less free space than minFreeBytes in agent.yaml, so no new job is accepted; running jobs go on and reads still work.',
    action: 'Free space on that filesystem (old job output: lower retention, or remove jobs) and retry after the Retry-After seconds; GET /v1/status shows `disk`.',
  },
  AGENT_OUTPUT_LIMIT_TOO_HIGH: {
    status: 400,
    meaning: 'The job asked for a maxOutputBytes above the agent\'s own maxOutputBytes; a job may only lower it.',
    action: 'Leave maxOutputBytes out (the agent\'s value applies) or give at most the value in the message; the agent\'s administrator can raise maxOutputBytes in agent.yaml.',
  },
  AGENT_CREDENTIAL_UNKNOWN: {
    status: 400,
    meaning: 'credentialKey names no entry in the agent\'s credential store (JS7 WINDOWS-1168).',
    action: 'Check the spelling; add it with `outpost agent credentials add KEY --config agent.yaml --user U --password-file F`, run as the agent user.',
  },
  AGENT_CREDENTIAL_BAD_USER: {
    status: 400,
    meaning: 'The credential\'s user name has unsupported characters; `DOMAIN\\user` is not supported (JS7 COM-80020009).',
    action: 'Give domain users as user@DOMAIN (user principal name); plain names use letters, digits, . _ - and @.',
  },
  AGENT_CREDENTIAL_BAD_KEY: {
    status: 400,
    meaning: 'A credential key has unsupported characters.',
    action: 'Use 1–64 letters, digits, dots, underscores and hyphens.',
  },
  AGENT_CREDENTIAL_EXISTS: {
    status: 409,
    meaning: 'A credential with this key already exists.',
    action: 'Remove it first (`outpost agent credentials remove KEY`) or pass --replace.',
  },
  AGENT_CREDENTIAL_STORE_INSECURE: {
    status: 500,
    meaning: 'The credential store is readable or writable by users other than its owner, or is not valid.',
    action: 'chmod 600 the file named in the message (owner: the agent user); restore it from backup if it is corrupt.',
  },
  AGENT_CREDENTIAL_SECRET_MISSING: {
    status: 400,
    meaning: 'credentials add needs exactly one of --password-file or --private-key.',
    action: 'Pass --password-file FILE (first line is the password) or --private-key FILE (PEM/OpenSSH key).',
  },
  // Agentless SSH process servers (agent/executors/ssh).
  AGENT_SSH_CONFIG_INVALID: {
    status: 500,
    meaning: 'A process server entry cannot be used: no host key pin (hostKey or knownHostsFile), both, or a malformed one.',
    action: 'Give exactly one of hostKey ("SHA256:…" as `ssh-keygen -lf` prints it) or knownHostsFile for that process server.',
  },
  AGENT_SSH_HOST_UNREACHABLE: {
    status: 502,
    meaning: 'The process server could not be reached over SSH (refused, timed out, name not found, or connection lost).',
    action: 'Check remoteHostName and port, that sshd runs there and that the agent host may reach it.',
  },
  AGENT_SSH_UNREACHABLE: {
    status: 502,
    meaning: 'The process server kept dropping the connection while a job was being started; the agent backed off and gave up.',
    action: 'Check sshd on the target (its log says why it closes connections: MaxStartups, MaxSessions, a packet too large) and submit the job again.',
  },
  AGENT_SSH_LAUNCHER_PROTOCOL: {
    status: 502,
    meaning: 'The remote launcher sent something that is not its protocol (a malformed or oversized frame); its channel was closed.',
    action: 'Check what runs as `perl` for the login user on the target (PATH, wrappers); jobs that had started are followed from their files.',
  },
  AGENT_SSH_HOST_KEY_MISMATCH: {
    status: 502,
    meaning: 'The process server presented a host key other than the pinned one; nothing was run.',
    action: 'If the host key was changed on purpose, compare it out of band (`ssh-keygen -lf`) and update hostKey or knownHostsFile; otherwise treat it as an attack.',
  },
  AGENT_SSH_HOST_KEY_UNKNOWN: {
    status: 502,
    meaning: 'knownHostsFile has no key for the process server\'s host and port; nothing was run.',
    action: 'Add the host\'s key, verified out of band, to knownHostsFile (`[host]:port` form for ports other than 22).',
  },
  AGENT_SSH_AUTH_FAILED: {
    status: 502,
    meaning: 'The process server refused the login (wrong password or key, or no usable key for the agent user).',
    action: 'Check the credential named by credentialKey (or the agent user\'s ~/.ssh/id_ed25519 / id_rsa) and the target\'s authorized_keys and sshd settings.',
  },
  AGENT_SSH_USERNAME_INVALID: {
    status: 400,
    meaning: 'A login or run-as user name for an SSH job is not a valid user name (DOMAIN\\user is not accepted).',
    action: 'Use a plain user name, or user@DOMAIN instead of DOMAIN\\user.',
  },
  AGENT_SSH_SUDO_REFUSED: {
    status: 403,
    meaning: 'sudo on the process server refused to run the job as the requested user; nothing was run.',
    action: 'Allow the login user to run commands as that user without a password (a NOPASSWD sudoers rule on the target), or choose another runAs.',
  },
  AGENT_SSH_INTERPRETER_NOT_ALLOWED: {
    status: 403,
    meaning: 'The job names an interpreter that is not in the process server\'s interpreterWhitelist.',
    action: 'Use one of the whitelisted interpreters, or add it to that process server\'s interpreterWhitelist.',
  },
  AGENT_SSH_JOB_INVALID: {
    status: 400,
    meaning: 'An SSH job has an unusable field (environment variable name, job id, or a missing command).',
    action: 'Correct the field the message names and submit the job again.',
  },
  AGENT_SSH_REMOTE_FAILED: {
    status: 502,
    meaning: 'The remote wrapper could not start or control the job on the process server (missing tools, full disk, permissions).',
    action: 'Read the remote message in the error; the target needs a POSIX sh, setsid, GNU tail and timeout, and a writable home directory.',
  },
});
