/**
 * Who may run what, judged on a job spec and the current config (pure). Checked when a job is submitted and
 * again when it leaves the queue, so a user or key removed by a SIGHUP reload never runs a queued job.
 * Default deny: a job may name a run-as user, a login credential or a secret only when agent.yaml lists it.
 */
import type { OutpostError } from '../core/errors.js';
import type { AgentConfig } from './config.js';
import { agentError } from './errors.js';
import type { JobSpec } from './executors/executor.js';

export type PolicyConfig = Pick<AgentConfig, 'runAs' | 'processServers' | 'secretEnvKeys' | 'jobIsolation'>;

const listed = (names: readonly string[]): string => names.join(', ') || '(none)';

function runAsRefusal(spec: JobSpec, config: PolicyConfig, agentUser: string): OutpostError | null {
  const { runAs } = spec;
  if (runAs === undefined) return null;
  const server = spec.processServer === undefined ? undefined : config.processServers.find((s) => s.name === spec.processServer);
  if (!server) {
    if (config.runAs.allowedUsers.includes(runAs)) return null;
    // The agent's own user needs no switch; under strict isolation it is never a job's user (docs/agent.md).
    if (runAs === agentUser) {
      if (config.jobIsolation === 'warn') return null;
      return agentError('AGENT_RUNAS_NOT_ALLOWED', `this agent may not run jobs as ${runAs} (jobIsolation is strict: jobs never run as the agent's own user); allowed: ${listed(config.runAs.allowedUsers)} (runAs.allowedUsers)`);
    }
    return agentError('AGENT_RUNAS_NOT_ALLOWED', `this agent may not run jobs as ${runAs}; allowed: ${listed(config.runAs.allowedUsers)} (runAs.allowedUsers)`);
  }
  // The administrator chose defaultRunAsUser for this server; naming it explicitly changes nothing.
  if (runAs === server.defaultRunAsUser) return null;
  const allowed = server.allowedUsers ?? config.runAs.allowedUsers;
  if (allowed.includes(runAs)) return null;
  const where = server.allowedUsers ? `processServers ${server.name} allowedUsers` : 'runAs.allowedUsers';
  return agentError('AGENT_RUNAS_NOT_ALLOWED', `jobs on process server ${server.name} may not run as ${runAs}; allowed: ${listed(allowed)} (${where})`);
}

function credentialRefusal(spec: JobSpec, config: PolicyConfig): OutpostError | null {
  const key = spec.credentialKey;
  if (key === undefined) return null;
  const server = config.processServers.find((s) => s.name === spec.processServer);
  if (!server) return null; // an unknown server is refused on its own
  if (key === server.credentialKey || server.credentialKeys.includes(key)) return null;
  const allowed = [...(server.credentialKey ? [server.credentialKey] : []), ...server.credentialKeys];
  return agentError('AGENT_CREDENTIAL_NOT_ALLOWED', `jobs on process server ${server.name} may not log in with credential ${key}; allowed: ${listed(allowed)} (its credentialKey and credentialKeys)`);
}

function secretEnvRefusal(spec: JobSpec, config: PolicyConfig): OutpostError | null {
  const keys = Object.values(spec.secretEnv ?? {});
  if (keys.length === 0) return null;
  const server = spec.processServer === undefined ? undefined : config.processServers.find((s) => s.name === spec.processServer);
  if (spec.processServer !== undefined && !server) return null;
  const allowed = server ? server.secretEnvKeys : config.secretEnvKeys;
  const refused = keys.find((k) => !allowed.includes(k));
  if (refused === undefined) return null;
  const where = server ? `process server ${server.name}'s secretEnvKeys` : 'secretEnvKeys';
  return agentError('AGENT_SECRET_ENV_NOT_ALLOWED', `jobs ${server ? `on process server ${server.name} ` : 'on this agent '}may not read credential ${refused} through secretEnv; allowed: ${listed(allowed)} (${where})`);
}

/** The first reason this job may not run under `config`, or null. */
export function policyRefusal(spec: JobSpec, config: PolicyConfig, agentUser: string): OutpostError | null {
  return runAsRefusal(spec, config, agentUser) ?? credentialRefusal(spec, config) ?? secretEnvRefusal(spec, config);
}
