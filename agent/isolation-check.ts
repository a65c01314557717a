/**
 * Which OS users a local job may run as, and which of them could read or rewrite the agent's state
 * (credential store, job records and output, journal). Pure: job-isolation.ts looks the users up and
 * decides, from `jobIsolation`, whether to refuse the start or log a warning.
 */

export interface OsAccount {
  readonly name: string;
  readonly uid: number;
  /** Primary and supplementary group ids. */
  readonly gids: readonly number[];
}

export interface IsolationInput {
  readonly agent: OsAccount;
  readonly runAs: { readonly defaultUser?: string | undefined; readonly allowedUsers: readonly string[] };
  readonly jobIsolation: 'strict' | 'warn';
  /** Accounts of the users runAs names; a name absent here does not exist on this host (sudo refuses it). */
  readonly accounts: ReadonlyMap<string, OsAccount>;
  /** The group whose members can reach the agent's API (socket group or the secret file's group). */
  readonly apiGroup?: { readonly name: string; readonly gid: number; readonly key: string } | undefined;
}

export interface Exposure {
  /** The config key that makes the user reachable. */
  readonly key: string;
  readonly user: string;
  readonly why: string;
}

interface JobUser {
  readonly key: string;
  readonly account: OsAccount;
  readonly how: string;
}

/** Every way a local job can end up running as some user, with the key responsible. */
export function jobUsers(input: IsolationInput): JobUser[] {
  const { agent, runAs, accounts } = input;
  const users: JobUser[] = [];
  if (runAs.defaultUser === undefined) {
    users.push({ key: 'runAs.defaultUser', account: agent, how: 'runAs.defaultUser is not set, so jobs that name no runAs run as' });
  }
  if (input.jobIsolation === 'warn') {
    // Kept for single-user setups: `runAs: <agent user>` needs no switch and is accepted (strict refuses it).
    users.push({ key: 'jobIsolation', account: agent, how: 'jobIsolation: warn lets a job name in runAs' });
  }
  runAs.allowedUsers.forEach((name, i) => {
    const account = accounts.get(name);
    if (account) users.push({ key: `runAs.allowedUsers[${i}]`, account, how: `runAs.allowedUsers[${i}] names` });
  });
  return users;
}

/** Why a job running as `account` could read the agent's state, or undefined when it cannot. */
function exposureOf(account: OsAccount, input: IsolationInput): string | undefined {
  if (account.uid === 0) return 'root, who can read every file';
  if (account.uid === input.agent.uid) return `the agent's own user (uid ${account.uid}), who owns dataDir and the credential store`;
  const g = input.apiGroup;
  if (g && account.gids.includes(g.gid)) {
    return `a member of group ${g.name} (${g.key}), which can reach the agent's API and so read every job's records and output`;
  }
  return undefined;
}

export function isolationExposures(input: IsolationInput): Exposure[] {
  const seen = new Set<string>();
  const out: Exposure[] = [];
  for (const u of jobUsers(input)) {
    const why = exposureOf(u.account, input);
    if (why === undefined || seen.has(`${u.key} ${u.account.name}`)) continue;
    seen.add(`${u.key} ${u.account.name}`);
    out.push({ key: u.key, user: u.account.name, why: `${u.how} ${u.account.name}: ${why}` });
  }
  return out;
}

/** One sentence per exposure, for the refusal and for the warning. */
export function describeExposures(exposures: readonly Exposure[]): string {
  return exposures.map((e) => e.why).join('; ');
}

export const ISOLATION_RISK =
  'a job running as such a user can read the credential store (passwords, private keys) and every job\'s records and output, and can rewrite the journal';
