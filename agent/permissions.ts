/**
 * Who may ask for what (docs/agent.md, "Permissions and templates"), judged on the client identity the
 * gateway forwards and agent.yaml `permissions:`. Pure: rules in, a refusal or null out. The job runner asks
 * when a job is submitted and again when it leaves the queue (a reload may have narrowed the rule since),
 * and before a cancel or abort. This sits in front of job-policy.ts, which says what the agent allows at all:
 * a rule can only narrow that, never widen it.
 */
import { canonicalThumbprint, subjectMatches, subjectPairsOf } from '../core/client-identity.js';
import type { OutpostError } from '../core/errors.js';
import type { PermissionRule } from './config-permissions.js';
import { agentError } from './errors.js';
import type { JobSpec } from './executors/executor.js';
import type { SubmittedBy } from './job-record.js';

// Here, not beside the schema: the daemon loads this module, and the schema's module loads zod.
/** In a rule's processServers, the agent's own host (jobs that name no processServer). */
export const LOCAL_TARGET = 'local';

export type Identity = SubmittedBy;

function canonical(thumbprint: string): string | undefined {
  try {
    return canonicalThumbprint(thumbprint);
  } catch {
    return undefined;
  }
}

function ruleMatches(rule: PermissionRule, who: Identity | null): boolean {
  if (!rule.clients) return true;
  const thumbprint = who?.thumbprint === undefined ? undefined : canonical(who.thumbprint);
  if (thumbprint !== undefined && rule.clients.thumbprints.includes(thumbprint)) return true;
  const subject = who?.subject;
  return subject !== undefined && rule.clients.subjects.some((s) => subjectMatches(subjectPairsOf(s), subject));
}

/** The first rule for this caller (a rule without clients is the default and matches everyone). */
export function matchRule(rules: readonly PermissionRule[], who: Identity | null): PermissionRule | undefined {
  return rules.find((r) => ruleMatches(r, who));
}

/** `*` any run of characters, `?` one; everything else literal. */
export function globMatches(glob: string, name: string): boolean {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

/** What a job asks of a rule. */
export interface Asked {
  /** The template's name; undefined for an ad hoc job (command, argv or script of the client's own). */
  readonly template?: string | undefined;
  /** The user it would run as; undefined when only the target knows (an SSH login user). */
  readonly runAs?: string | undefined;
  /** `local` or the process server's name. */
  readonly target: string;
  readonly credentialKeys: readonly string[];
  readonly timeoutSeconds?: number | undefined;
}

/**
 * The facts of `spec` a rule judges. The run-as user is the effective one: the job's, else the process
 * server's defaultRunAsUser, else (locally) the agent's own user.
 */
export function askedOf(
  spec: JobSpec,
  template: string | undefined,
  processServers: readonly { readonly name: string; readonly defaultRunAsUser?: string | undefined }[],
  agentUser: string,
): Asked {
  const server = spec.processServer === undefined ? undefined : processServers.find((s) => s.name === spec.processServer);
  const runAs = spec.runAs ?? (spec.processServer === undefined ? agentUser : server?.defaultRunAsUser);
  const keys = new Set([...(spec.credentialKey !== undefined ? [spec.credentialKey] : []), ...Object.values(spec.secretEnv ?? {})]);
  return { template, runAs, target: spec.processServer ?? LOCAL_TARGET, credentialKeys: [...keys], timeoutSeconds: spec.timeoutSeconds };
}

export function describeIdentity(who: Identity | null): string {
  if (who?.subject) return who.subject;
  if (who?.thumbprint) return `client ${who.thumbprint}`;
  return 'a caller without a client identity';
}

const listed = (names: readonly string[] | undefined): string => (names === undefined ? 'any' : names.join(', ') || '(none)');

function denied(rule: PermissionRule | undefined, who: Identity | null, grant: string, value: unknown, why: string): OutpostError {
  const ruleText = rule ? `rule ${rule.name}` : 'no permissions rule matches this identity';
  return agentError('AGENT_PERMISSION_DENIED', `${describeIdentity(who)} ${why} (${ruleText})`, {
    details: { rule: rule?.name ?? null, asked: { [grant]: value ?? null }, identity: who ?? null },
  });
}

/** The first question about any job: may this caller run ad hoc jobs, or this template? */
export function entryRefusal(rules: readonly PermissionRule[] | undefined, who: Identity | null, template: string | undefined): OutpostError | null {
  if (rules === undefined) return null;
  const rule = matchRule(rules, who);
  if (!rule) return denied(undefined, who, template === undefined ? 'adHoc' : 'template', template ?? true, 'may not run jobs on this agent');
  if (template === undefined) {
    if (!rule.adHoc) return denied(rule, who, 'adHoc', true, `may not run ad hoc jobs (command, argv or script); templates it may run: ${listed(rule.templates)}`);
  } else if (!rule.templates.includes('*') && !rule.templates.includes(template)) {
    return denied(rule, who, 'template', template, `may not run template ${template}; templates it may run: ${listed(rule.templates)}`);
  }
  return null;
}

/** Why this job may not run for this caller, or null. `rules` undefined: no `permissions:` section, no limits. */
export function jobRefusal(rules: readonly PermissionRule[] | undefined, who: Identity | null, asked: Asked): OutpostError | null {
  if (rules === undefined) return null;
  const entry = entryRefusal(rules, who, asked.template);
  if (entry) return entry;
  const rule = matchRule(rules, who) as PermissionRule;
  if (rule.runAs && !rule.runAs.includes('*') && asked.runAs !== undefined && !rule.runAs.includes(asked.runAs)) {
    return denied(rule, who, 'runAs', asked.runAs, `may not run jobs as ${asked.runAs}; users it may run as: ${listed(rule.runAs)}`);
  }
  if (rule.processServers && !rule.processServers.some((g) => globMatches(g, asked.target))) {
    const where = asked.target === LOCAL_TARGET ? 'on this host (local)' : `on process server ${asked.target}`;
    return denied(rule, who, 'processServer', asked.target, `may not run jobs ${where}; it may run on: ${listed(rule.processServers)}`);
  }
  if (rule.credentialKeys && !rule.credentialKeys.includes('*')) {
    const key = asked.credentialKeys.find((k) => !rule.credentialKeys?.includes(k));
    if (key !== undefined) return denied(rule, who, 'credentialKey', key, `may not use credential ${key}; credentials it may use: ${listed(rule.credentialKeys)}`);
  }
  const max = rule.maxTimeoutSeconds;
  if (max !== undefined && (asked.timeoutSeconds === undefined || asked.timeoutSeconds > max)) {
    const given = asked.timeoutSeconds === undefined ? 'without a timeout' : `with a ${asked.timeoutSeconds} s timeout`;
    return denied(rule, who, 'timeoutSeconds', asked.timeoutSeconds ?? null, `may not run jobs ${given}; at most ${max} s (maxTimeoutSeconds)`);
  }
  return null;
}

/** The same client: by thumbprint when both sides have one, else by subject. */
export function sameClient(a: Identity | null, b: Identity | null): boolean {
  const ta = a?.thumbprint === undefined ? undefined : canonical(a.thumbprint);
  const tb = b?.thumbprint === undefined ? undefined : canonical(b.thumbprint);
  if (ta !== undefined && tb !== undefined) return ta === tb;
  if (a?.subject === undefined || b?.subject === undefined) return false;
  try {
    const pa = subjectPairsOf(a.subject).sort();
    const pb = subjectPairsOf(b.subject).sort();
    return pa.length === pb.length && pa.every((p, i) => p === pb[i]);
  } catch {
    return false;
  }
}

/** Why this caller may not cancel or abort a job submitted by `owner`, or null. */
export function controlRefusal(rules: readonly PermissionRule[] | undefined, who: Identity | null, owner: Identity | null, kind: 'cancel' | 'abort', jobId: string): OutpostError | null {
  if (rules === undefined) return null;
  const rule = matchRule(rules, who);
  if (!rule) return denied(undefined, who, kind, jobId, `may not ${kind} jobs on this agent`);
  if (rule.control === 'all' || sameClient(who, owner)) return null;
  return denied(rule, who, kind, jobId, `may ${kind} only its own jobs (control: own); job ${jobId} was submitted by ${owner ? describeIdentity(owner) : 'no identified client'}`);
}

/** `GET /v1/whoami`: the identity the agent sees, the rule that matched and what it grants. */
export function whoami(rules: readonly PermissionRule[] | undefined, who: Identity | null): Record<string, unknown> {
  if (rules === undefined) {
    return { identity: who, restricted: false, rule: null, grants: null, note: 'agent.yaml has no permissions: section; every caller the gateway lets through may do anything agent.yaml allows' };
  }
  const rule = matchRule(rules, who);
  if (!rule) return { identity: who, restricted: true, rule: null, grants: null, note: 'no permissions rule matches this identity: every job, cancel and abort is refused' };
  const { name, clients: _clients, ...grants } = rule;
  return {
    identity: who,
    restricted: true,
    rule: name,
    grants: { ...grants, runAs: grants.runAs ?? ['*'], processServers: grants.processServers ?? ['*'], credentialKeys: grants.credentialKeys ?? ['*'], maxTimeoutSeconds: grants.maxTimeoutSeconds ?? null },
  };
}

/** May this caller run this template (for GET /v1/templates)? */
export function templateAllowed(rules: readonly PermissionRule[] | undefined, who: Identity | null, template: string): boolean {
  if (rules === undefined) return true;
  const rule = matchRule(rules, who);
  return rule !== undefined && (rule.templates.includes('*') || rule.templates.includes(template));
}
