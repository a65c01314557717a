/**
 * Who the SSH executor logs in as and who the job runs as. Credentials come from the agent's credential
 * store by key (never from the job request); with no key, the agent user's own SSH key is used, like
 * Redwood's agentless servers falling back to authorized_keys.
 */
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { agentError } from '../../errors.js';
import type { CredentialResolver } from './index.js';
import type { Login } from './auth-methods.js';

// The credential store's rules (agent/credentials.ts), repeated so the executor does not depend on it.
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(@[A-Za-z0-9][A-Za-z0-9.-]{0,252})?$/;

/**
 * User names as the credential store accepts them: `DOMAIN\user` is refused with the advice to use the
 * user principal name; no whitespace, quotes or a leading dash (sudo would read it as an option).
 * Credential users fail with the store's code, run-as users with AGENT_SSH_USERNAME_INVALID.
 */
export function checkUserName(name: string, what: string, code: 'AGENT_CREDENTIAL_BAD_USER' | 'AGENT_SSH_USERNAME_INVALID' = 'AGENT_SSH_USERNAME_INVALID'): string {
  if (name.includes('\\')) {
    const [domain, user] = name.split('\\', 2);
    throw agentError(code, `${what}: unsupported character in user name: '${name}'; for domain users give the user principal name, e.g. ${user || 'user'}@${domain || 'DOMAIN'}`);
  }
  if (!USER.test(name)) throw agentError(code, `${what}: unsupported character in user name: '${name}'`);
  return name;
}

/** The agent user's own key: ~/.ssh/id_ed25519, then ~/.ssh/id_rsa. */
async function ownKey(serverName: string): Promise<Login> {
  const username = checkUserName(userInfo().username, 'agent user');
  const tried: string[] = [];
  for (const file of ['id_ed25519', 'id_rsa']) {
    const path = join(homedir(), '.ssh', file);
    tried.push(path);
    try {
      return { username, privateKey: await readFile(path, 'utf8') };
    } catch {
      // try the next one
    }
  }
  throw agentError(
    'AGENT_SSH_AUTH_FAILED',
    `process server ${serverName} has no credentialKey and the agent user ${username} has no SSH key (${tried.join(', ')}); add a credential or create the key`,
  );
}

/** Resolves the login for a credential key (or the agent user's own key when there is none). */
export async function resolveLogin(serverName: string, credentials: CredentialResolver, key: string | undefined): Promise<Login> {
  if (!key) return ownKey(serverName);
  const cred = await credentials.resolve(key);
  const username = checkUserName(cred.user, `credential ${key}`, 'AGENT_CREDENTIAL_BAD_USER');
  if (!cred.password && !cred.privateKey) {
    throw agentError('AGENT_SSH_AUTH_FAILED', `credential ${key} has neither a password nor a private key; add one with \`outpost agent credentials add\``);
  }
  return {
    username,
    ...(cred.privateKey ? { privateKey: cred.privateKey } : {}),
    ...(cred.passphrase ? { passphrase: cred.passphrase } : {}),
    ...(cred.password ? { password: cred.password } : {}),
  };
}
