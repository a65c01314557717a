/**
 * Start-up (and SIGHUP) check that no local job can run as a user able to read the agent's state. Looks
 * the users up on this host, then refuses (jobIsolation: strict) or warns (jobIsolation: warn); the rules
 * are in isolation-check.ts.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import type { AgentConfig } from './config.js';
import { agentError } from './errors.js';
import { describeExposures, ISOLATION_RISK, isolationExposures, type IsolationInput, type OsAccount } from './isolation-check.js';
import { groupId } from './listen.js';

/** stdout of a command, or undefined when it fails (for `id`: no such user). */
function output(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

/** Through `id`, so users from LDAP or other NSS sources count as well as /etc/passwd. */
export async function lookupAccount(name: string): Promise<OsAccount | undefined> {
  const [uid, gids] = await Promise.all([output('id', ['-u', '--', name]), output('id', ['-G', '--', name])]);
  if (uid === undefined || gids === undefined) return undefined;
  return { name, uid: Number(uid), gids: gids.split(/\s+/).map(Number) };
}

function agentAccount(): OsAccount {
  const gids = new Set([process.getegid?.() ?? -1, ...(process.getgroups?.() ?? [])]);
  return { name: userInfo().username, uid: process.getuid?.() ?? -1, gids: [...gids] };
}

/** Who may connect: the socket's group when its mode lets the group in, or the group that may read the secret. */
async function apiGroup(listen: AgentConfig['listen']): Promise<IsolationInput['apiGroup']> {
  if ('socket' in listen) {
    if ((listen.mode & 0o060) === 0) return undefined;
    if (listen.group !== undefined) return { name: listen.group, gid: await groupId(listen.group), key: 'listen.group' };
    // Without listen.group the socket takes its directory's group when that is setgid, else the agent's.
    const dir = await stat(dirname(listen.socket)).catch(() => null);
    const gid = dir && (dir.mode & 0o2000) !== 0 ? dir.gid : (process.getegid?.() ?? -1);
    return { name: `gid ${gid}`, gid, key: 'listen.socket' };
  }
  const secret = await stat(listen.secretFile).catch(() => null);
  if (!secret || (secret.mode & 0o040) === 0) return undefined;
  return { name: `gid ${secret.gid}`, gid: secret.gid, key: 'listen.secretFile' };
}

export async function isolationInput(config: Pick<AgentConfig, 'runAs' | 'jobIsolation' | 'listen'>): Promise<IsolationInput> {
  const names = [...new Set(config.runAs.allowedUsers)];
  const found = await Promise.all(names.map(async (n) => [n, await lookupAccount(n)] as const));
  const accounts = new Map<string, OsAccount>();
  for (const [n, a] of found) if (a) accounts.set(n, a);
  return { agent: agentAccount(), runAs: config.runAs, jobIsolation: config.jobIsolation, accounts, apiGroup: await apiGroup(config.listen) };
}

/**
 * Throws AGENT_JOB_ISOLATION_UNSAFE under strict; under warn, returns the warning to log (undefined when
 * nothing is exposed).
 */
export async function checkJobIsolation(config: Pick<AgentConfig, 'runAs' | 'jobIsolation' | 'listen'>): Promise<string | undefined> {
  const exposures = isolationExposures(await isolationInput(config));
  if (exposures.length === 0) return undefined;
  const what = describeExposures(exposures);
  if (config.jobIsolation === 'strict') {
    throw agentError(
      'AGENT_JOB_ISOLATION_UNSAFE',
      `jobIsolation is strict, but ${what}. ${ISOLATION_RISK[0]?.toUpperCase()}${ISOLATION_RISK.slice(1)}. Set runAs.defaultUser to a dedicated job user (scripts/install creates outpost-job) and keep the agent user, root and members of the agent's API group out of runAs.allowedUsers; only a single-user demo or development setup should use jobIsolation: warn`,
    );
  }
  return `job isolation is off (jobIsolation: warn): ${ISOLATION_RISK}. ${what}`;
}
