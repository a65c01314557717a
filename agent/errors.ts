import { defineErrors } from '../core/errors.js';

/** The agent's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const agentError = defineErrors('agent', {
  AGENT_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the agent; the log has the details.',
    action: 'Check the agent log for the stack trace and report it with the request that caused it.',
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
