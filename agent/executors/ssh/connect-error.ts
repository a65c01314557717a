/** Maps ssh2 connection failures to the operator-facing error codes. */
import type { OutpostError } from '../../../core/errors.js';
import { agentError } from '../../errors.js';
import { fingerprintOf, type HostKeyVerdict } from './host-key.js';

/** Maps an ssh2 connection error to the operator-facing code. */
export function classifyConnectError(err: Error & { level?: string; code?: string }, verdict: HostKeyVerdict | undefined, where: string, key?: Buffer): OutpostError {
  if (verdict === 'mismatch') {
    return agentError('AGENT_SSH_HOST_KEY_MISMATCH', `${where} presented host key ${key ? fingerprintOf(key) : '?'}, which does not match the pinned key; nothing was run`, { cause: err });
  }
  if (verdict === 'unknown') {
    return agentError('AGENT_SSH_HOST_KEY_UNKNOWN', `${where} presented host key ${key ? fingerprintOf(key) : '?'}, which knownHostsFile does not list for this host; nothing was run`, { cause: err });
  }
  if (err.level === 'client-authentication') {
    return agentError('AGENT_SSH_AUTH_FAILED', `${where} refused the login: ${err.message}`, { cause: err });
  }
  return agentError('AGENT_SSH_HOST_UNREACHABLE', `${where} is unreachable: ${err.code ?? err.message}`, { cause: err });
}

