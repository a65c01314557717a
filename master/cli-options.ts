/**
 * Options every master command shares: the TLS identity and the agent to talk to.
 */
import { Option, type Command } from 'commander';
import { loadCredentials, type TlsCredentials } from './credentials.js';
import { ClientPool } from './client.js';
import { parseSeconds } from './job-request.js';

export interface TlsFlags {
  cert?: string;
  key?: string;
  ca?: string;
  passwordFile?: string;
  requestTimeout?: string;
  json?: boolean;
}

export function addTlsOptions(cmd: Command): Command {
  return cmd
    .option('--cert <file>', 'connector certificate, PEM or PKCS#12 (.p12) (env OUTPOST_CERT; default: the CA store\'s default connector)')
    .option('--key <file>', 'its private key, PEM, mode 0600 (env OUTPOST_KEY)')
    .option('--ca <file>', 'CA bundle that issued the gateways\' certificates (env OUTPOST_CA)')
    .option('--password-file <file>', 'password of the PKCS#12 file or encrypted key, first line (env OUTPOST_CERT_PASSWORD, OUTPOST_CERT_PASSWORD_FILE)')
    .addOption(new Option('--request-timeout <seconds>', 'how long to wait for an agent to answer').default('30'))
    .option('--json', 'machine-readable output');
}

/**
 * --cert/--key/--ca, else OUTPOST_CERT/…, else the CA store's default connector certificate (what
 * `outpost ca issue connector --make-default` made and `outpost ca maintain` renews).
 */
export async function tlsCredentials(flags: TlsFlags, env: NodeJS.ProcessEnv = process.env, caDir?: string): Promise<TlsCredentials> {
  if (flags.cert === undefined && env.OUTPOST_CERT === undefined) {
    const { defaultConnectorFiles } = await import('./default-connector.js');
    const files = await defaultConnectorFiles(caDir).catch(() => undefined);
    if (files) return loadCredentials({ cert: files.cert, key: flags.key ?? files.key, ca: flags.ca ?? env.OUTPOST_CA ?? files.ca, passwordFile: flags.passwordFile }, env);
  }
  return loadCredentials({ cert: flags.cert, key: flags.key, ca: flags.ca, passwordFile: flags.passwordFile }, env);
}

export async function clientPool(flags: TlsFlags, connections = 4): Promise<{ pool: ClientPool; creds: TlsCredentials }> {
  const creds = await tlsCredentials(flags);
  const requestTimeoutMs = parseSeconds(flags.requestTimeout ?? '30', '--request-timeout') * 1000;
  return { pool: new ClientPool(creds, { connections, requestTimeoutMs }), creds };
}
