/**
 * Agentless SSH process servers (Redwood's agentless process servers, Foreman's SSH provider).
 * Placeholder: the agent wires this factory; the SSH executor replaces the body.
 */
import type { Executor } from '../executor.js';
import type { Logger } from '../../../core/logger.js';

/** A credential resolved from the agent's credential store by its key. Never logged, never persisted. */
export interface ResolvedCredential {
  readonly key: string;
  readonly user: string;
  readonly password?: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
}

export interface CredentialResolver {
  /** Throws AGENT_CREDENTIAL_UNKNOWN for a key that is not in the store. */
  resolve(key: string): Promise<ResolvedCredential>;
}

/** One entry of `processServers:` in agent.yaml (SPEC section 3). */
export interface ProcessServerConfig {
  readonly name: string;
  readonly remoteHostName: string;
  readonly port: number;
  readonly defaultRunAsUser?: string;
  readonly credentialKey?: string;
  readonly hostKey?: string;
  readonly knownHostsFile?: string;
  readonly interpreterWhitelist: readonly string[];
}

export interface ProcessServerStatus {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly reachable: boolean | null;
  readonly lastConnectAt: string | null;
  readonly lastError: { code: string; message: string } | null;
}

export interface SshExecutorDeps {
  readonly credentials: CredentialResolver;
  readonly logger: Logger;
  /** The agent's data directory; the executor may keep state under `<dataDir>/ssh/`. */
  readonly dataDir: string;
}

export interface SshExecutor extends Executor {
  status(): ProcessServerStatus;
}

export function createSshExecutor(server: ProcessServerConfig, _deps: SshExecutorDeps): SshExecutor {
  throw new Error(`process server ${server.name}: agentless SSH execution is not built yet`);
}
