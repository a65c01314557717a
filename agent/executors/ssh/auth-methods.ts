/**
 * ssh2 authentication methods for a resolved login. The parsed private key is cached: ssh2 parses a
 * key given in the connect options on every dial, and decrypting a passphrase-protected one (bcrypt KDF)
 * costs about half a second of CPU.
 */
import ssh2, { type AnyAuthMethod, type ParsedKey } from 'ssh2';
import { agentError } from '../../errors.js';

export interface Login {
  readonly username: string;
  readonly password?: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
}

export class AuthMethods {
  /** Kept for the next dial as long as the credential (key and passphrase) is unchanged. */
  private parsedKey: { source: string; key: ParsedKey } | undefined;

  constructor(private readonly where: () => string) {}

  /** ssh2 auth methods for a login: the key first, then password and keyboard-interactive with it. */
  for(login: Login): AnyAuthMethod[] {
    const methods: AnyAuthMethod[] = [];
    const username = login.username;
    if (login.privateKey) {
      const source = `${login.passphrase ?? ''}\0${login.privateKey}`;
      if (this.parsedKey?.source !== source) {
        const parsed = ssh2.utils.parseKey(login.privateKey, login.passphrase);
        if (parsed instanceof Error) {
          throw agentError('AGENT_SSH_AUTH_FAILED', `${this.where()}: the private key cannot be used (${/passphrase|decrypt|encrypted/i.test(parsed.message) ? 'wrong or missing passphrase' : parsed.message})`);
        }
        this.parsedKey = { source, key: parsed };
      }
      methods.push({ type: 'publickey', username, key: this.parsedKey.key });
    }
    if (login.password) {
      const password = login.password;
      methods.push({ type: 'password', username, password });
      methods.push({ type: 'keyboard-interactive', username, prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => password)) });
    }
    return methods;
  }
}
