/**
 * The agent's state must be private to the agent user: dataDir (job records, output, journal, and by
 * default the credential store) 0700, the credential store 0600, both owned by the agent user. Checked at
 * start, so a loose mode is refused before any job runs rather than found later.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { agentError } from './errors.js';

const octal = (mode: number): string => (mode & 0o777).toString(8);

function agentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

export async function checkDataDir(path: string): Promise<void> {
  const info = await stat(path);
  const uid = agentUid();
  if (uid !== undefined && info.uid !== uid) {
    throw agentError('AGENT_DATA_DIR_INSECURE', `dataDir ${path} is owned by uid ${info.uid}, not by the agent user (uid ${uid}); chown it to the agent user`);
  }
  if ((info.mode & 0o077) !== 0) {
    throw agentError('AGENT_DATA_DIR_INSECURE', `dataDir ${path} has mode ${octal(info.mode)}: other users could read job records, output and credentials; chmod 700 it`);
  }
}

/** The store may not exist yet (`credentials add` creates it 0600); when it does, it is checked now. */
export async function checkCredentialStore(path: string, outsideDataDir: boolean): Promise<void> {
  const uid = agentUid();
  if (outsideDataDir) {
    // A directory others may write lets them replace the store, whatever the file's own mode.
    const dir = await stat(dirname(path)).catch(() => null);
    if (dir && (dir.mode & 0o022) !== 0) {
      throw agentError('AGENT_CREDENTIAL_STORE_INSECURE', `the directory of credentialsFile ${path} has mode ${octal(dir.mode)}: others could replace the store; chmod 700 ${dirname(path)}`);
    }
  }
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!info) return;
  if ((info.mode & 0o077) !== 0 || (uid !== undefined && info.uid !== uid)) {
    throw agentError(
      'AGENT_CREDENTIAL_STORE_INSECURE',
      `${path} has mode ${octal(info.mode)} and owner uid ${info.uid}; it must be 600 and owned by the agent user${uid !== undefined ? ` (uid ${uid})` : ''}`,
    );
  }
}
