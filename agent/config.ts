/**
 * agent.yaml (docs/agent.md, Configuration): parsed, validated with every bad key named by its path, frozen.
 * Loopback-only listening is enforced here so a bad address fails at boot, not at first request.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { loadConfigFile, parseConfig } from '../core/config.js';
import { coreError } from '../core/errors.js';
import { agentError } from './errors.js';
import { templateSchema, templatesProblems } from './config-templates.js';
import { permissionRuleSchema, permissionsProblems } from './config-permissions.js';

const absPath = z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path');
const userName = z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}\$?$/i, 'must be a POSIX user name');

const credentialKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a credential key (letters, digits, . _ -, max 64)');

const socketListen = z
  .object({
    socket: absPath,
    /** Group that may connect (the gateway user's group); the socket is chgrp'ed to it. */
    group: z.string().min(1).optional(),
    /** Socket mode; 0660 by default so only owner and group can connect. */
    mode: z.number().int().min(0).max(0o777).default(0o660),
  })
  .strict();

const tcpListen = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    /** File holding the shared secret the gateway sends in x-outpost-secret. */
    secretFile: absPath,
  })
  .strict();

export const processServerSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, 'letters, digits, . _ - (max 64)'),
    remoteHostName: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    defaultRunAsUser: userName.optional(),
    credentialKey: credentialKey.optional(),
    /** Further credential keys a job may name for this server (its own credentialKey is always allowed). */
    credentialKeys: z.array(credentialKey).default([]),
    /** Users SSH jobs may name as runAs here; runAs.allowedUsers when absent. defaultRunAsUser is always allowed. */
    allowedUsers: z.array(userName).optional(),
    /** Credential keys (password credentials) SSH jobs on this server may read through secretEnv. */
    secretEnvKeys: z.array(credentialKey).default([]),
    hostKey: z.string().min(1).optional(),
    knownHostsFile: absPath.optional(),
    interpreterWhitelist: z.array(absPath).default(['/bin/sh']),
    // Exec channels per connection: at or below the target sshd's MaxSessions (OpenSSH default 10).
    maxSessions: z.number().int().min(1).max(100).default(10),
    maxConnections: z.number().int().min(1).max(64).default(8),
  })
  .strict()
  .refine((s) => s.hostKey !== undefined || s.knownHostsFile !== undefined, {
    message: 'needs hostKey or knownHostsFile (unknown host keys are refused)',
  });

export const agentConfigSchema = z
  .object({
    listen: z.union([socketListen, tcpListen]),
    dataDir: absPath,
    maxConcurrentJobs: z.number().int().min(1).max(10_000).default(16),
    queueLimit: z.number().int().min(0).max(1_000_000).default(1000),
    interpreterWhitelist: z.array(absPath).default(['/bin/sh', '/bin/bash']),
    /** Redwood's LocalInterpreter_<name>: a job's `interpreter: bash` maps to this path. */
    localInterpreter: z.record(z.string().regex(/^[a-zA-Z0-9_.-]+$/), absPath).default({}),
    runAs: z
      .object({
        method: z.enum(['sudo', 'su']).default('sudo'),
        allowedUsers: z.array(userName).default([]),
        /** Redwood's DefaultRunAsUser: used when a job names no runAs. */
        defaultUser: userName.optional(),
      })
      .strict()
      .default({ method: 'sudo', allowedUsers: [] }),
    /**
     * strict: refuse to start when a local job could run as a user that can read the agent's state
     * (docs/agent.md, "Security model"); warn: start and log the risk (single-user demo/dev setups).
     */
    jobIsolation: z.enum(['strict', 'warn']).default('strict'),
    /** Seconds between SIGTERM and SIGKILL for cancel and timeout. */
    cancelGraceSeconds: z.number().int().min(1).max(3600).default(10),
    /** Applied when a job gives no timeoutSeconds; 0 = none. */
    defaultTimeoutSeconds: z.number().int().min(0).max(31_536_000).default(0),
    retention: z
      .object({
        maxAgeDays: z.number().min(0).default(14),
        maxJobs: z.number().int().min(1).default(100_000),
      })
      .strict()
      .default({ maxAgeDays: 14, maxJobs: 100_000 }),
    /**
     * Bytes of output a job may leave in dataDir; beyond them the output is cut with a marker line and the
     * job runs on (docs/agent.md, "A full disk"). 64 MiB: far more than anyone reads of a job's log, small
     * enough that a few runaway jobs cannot fill a disk. A job may ask for less, never more.
     */
    maxOutputBytes: z.number().int().min(1).max(2 ** 50).default(64 * 1024 * 1024),
    /**
     * Free bytes dataDir's filesystem must keep: below them new jobs are refused (507 AGENT_DISK_LOW) so
     * the journal and running jobs' output still have room. 0 disables the check.
     */
    minFreeBytes: z.number().int().min(0).max(2 ** 50).default(256 * 1024 * 1024),
    /** How long an Idempotency-Key names its job, in hours (docs/agent.md, "Submitting a job exactly once"). */
    idempotencyKeyHours: z.number().min(0.01).max(8760).default(24),
    /** Credential store file; `<dataDir>/credentials.json` by default. */
    credentialsFile: absPath.optional(),
    perl: absPath.default('/usr/bin/perl'),
    /** Credential keys (password credentials) local jobs may read through secretEnv; none by default. */
    secretEnvKeys: z.array(credentialKey).default([]),
    /** The launcher service's Unix socket (`outpost agent launcher`): jobs are then forked outside the
     * agent's own sandbox. Unset: the agent runs its launcher as its child. */
    launcherSocket: absPath.optional(),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    processServers: z.array(processServerSchema).default([]),
    /** Jobs the administrator wrote, with typed inputs clients fill in (docs/agent.md, "Permissions and templates"). */
    templates: z.array(templateSchema).default([]),
    /** Who may do what, by client identity; left out, every caller the gateway lets through may do anything. */
    permissions: z.array(permissionRuleSchema).optional(),
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

function checkSemantics(config: AgentConfig, source: string): AgentConfig {
  const listen = config.listen;
  if ('host' in listen && !isLoopbackHost(listen.host)) {
    throw agentError(
      'AGENT_LISTEN_NOT_LOOPBACK',
      `${source}: listen.host ${listen.host} is not a loopback address; the agent listens only on 127.0.0.0/8 or ::1 (or a Unix socket) and the gateway is what the network reaches`,
    );
  }
  const { defaultUser, allowedUsers } = config.runAs;
  if (defaultUser !== undefined && !allowedUsers.includes(defaultUser)) {
    throw coreError('CORE_CONFIG_INVALID', `${source} is invalid:\n  runAs.defaultUser: ${defaultUser} must also be in runAs.allowedUsers`);
  }
  const names = new Set<string>();
  for (const s of config.processServers) {
    if (names.has(s.name)) {
      throw coreError('CORE_CONFIG_INVALID', `${source} is invalid:\n  processServers: two entries are named ${s.name}`);
    }
    names.add(s.name);
  }
  const problems = [
    ...templatesProblems(config.templates, names),
    ...permissionsProblems(config.permissions ?? [], new Set(config.templates.map((t) => t.name)), names),
  ];
  if (problems.length > 0) {
    throw coreError('CORE_CONFIG_INVALID', `${source} is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`, { details: { problems } });
  }
  return config;
}

export function parseAgentConfig(raw: unknown, source = 'agent config'): Readonly<AgentConfig> {
  return checkSemantics(parseConfig(agentConfigSchema, raw, source), source);
}

export async function loadAgentConfig(path: string): Promise<Readonly<AgentConfig>> {
  return checkSemantics(await loadConfigFile(agentConfigSchema, path), path);
}

export { credentialsPath } from './credentials-path.js';
