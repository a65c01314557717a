/**
 * agent.yaml `permissions:` (docs/agent.md, "Permissions and templates"): rules keyed by the client identity
 * the gateway forwards, first match wins. Thumbprints are stored in their canonical form so matching is a
 * string comparison; names a rule refers to (templates, process servers) must exist, so a typo fails at
 * start instead of silently granting nothing.
 */
import { z } from 'zod';
import type { ConfigProblem } from '../core/config.js';
import { canonicalThumbprint, subjectPairsOf } from '../core/client-identity.js';
import { LOCAL_TARGET } from './permissions.js';


const thumbprint = z.string().transform((s, ctx) => {
  try {
    return canonicalThumbprint(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const subject = z.string().min(1).superRefine((s, ctx) => {
  try {
    if (subjectPairsOf(s).length === 0) ctx.addIssue({ code: 'custom', message: 'empty subject' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const permissionRuleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, . _ - (max 64)'),
    /** Whom the rule is for; left out, the rule is the default and matches every caller. */
    clients: z.object({ subjects: z.array(subject).default([]), thumbprints: z.array(thumbprint).default([]) }).strict().optional(),
    /** May send command, argv or script of its own. */
    adHoc: z.boolean().default(false),
    /** Template names this client may run, or "*". */
    templates: z.array(z.string().min(1)).default([]),
    /** Users its jobs may run as ("*": any agent.yaml allows). Left out: any. */
    runAs: z.array(z.string().regex(/^(\*|[a-z_][a-z0-9_.-]{0,31}\$?)$/i, 'must be a user name or *')).optional(),
    /** Where its jobs may run: process server names or globs, and `local` for this host. Left out: anywhere. */
    processServers: z.array(z.string().regex(/^[A-Za-z0-9_.*?-]{1,64}$/, 'a process server name or glob (* and ?)')).optional(),
    /** Credential keys its jobs may use (credentialKey, secretEnv, secret inputs). Left out: any agent.yaml allows. */
    credentialKeys: z.array(z.string().regex(/^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/, 'a credential key or *')).optional(),
    maxTimeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
    /** Whose jobs it may cancel and abort: its own, or all. */
    control: z.enum(['own', 'all']).default('own'),
  })
  .strict();

export type PermissionRule = z.output<typeof permissionRuleSchema>;

/** Problems across keys of `permissions:` (the schema has checked each key alone). */
export function permissionsProblems(rules: readonly PermissionRule[], templates: ReadonlySet<string>, processServers: ReadonlySet<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  const names = new Set<string>();
  rules.forEach((r, i) => {
    const at = `permissions[${i}]`;
    if (names.has(r.name)) add(`${at}.name`, `two rules are named ${r.name}`);
    names.add(r.name);
    if (r.clients && r.clients.subjects.length === 0 && r.clients.thumbprints.length === 0) {
      add(`${at}.clients`, 'give subjects or thumbprints, or leave clients out to make this the default rule');
    }
    if (!r.clients && i < rules.length - 1) add(`${at}.clients`, `a rule without clients matches every caller, so the rules after it (${rules.slice(i + 1).map((x) => x.name).join(', ')}) would never apply; make it the last rule`);
    r.templates.forEach((name, j) => {
      if (name !== '*' && !templates.has(name)) add(`${at}.templates[${j}]`, `no template named ${name} in templates`);
    });
    r.processServers?.forEach((name, j) => {
      if (/[*?]/.test(name) || name === LOCAL_TARGET) return;
      if (!processServers.has(name)) add(`${at}.processServers[${j}]`, `no process server named ${name} in processServers (write ${LOCAL_TARGET} for this host)`);
    });
  });
  if (processServers.has(LOCAL_TARGET)) {
    add('processServers', `a process server named ${LOCAL_TARGET} cannot be told apart from this host in permissions; rename it`);
  }
  return problems;
}
