import t from 'tap';
import { policyRefusal, type PolicyConfig } from '../../agent/job-policy.js';
import type { JobSpec } from '../../agent/executors/executor.js';
import { parseAgentConfig } from '../../agent/config.js';

const config: PolicyConfig = parseAgentConfig({
  listen: { socket: '/run/a.sock' },
  dataDir: '/var/lib/a',
  runAs: { allowedUsers: ['batch'] },
  jobIsolation: 'warn',
  secretEnvKeys: ['local-pw'],
  processServers: [
    { name: 'db01', remoteHostName: 'db01', hostKey: 'SHA256:abc', credentialKey: 'db01-login', credentialKeys: ['db01-admin'], secretEnvKeys: ['db-pw'], defaultRunAsUser: 'oracle' },
    { name: 'web02', remoteHostName: 'web02', hostKey: 'SHA256:abc', credentialKey: 'web02-login', allowedUsers: ['www'] },
  ],
});
const job = (over: Partial<JobSpec>): JobSpec => ({ id: 'j', kind: 'command', command: 'true', ...over });
const code = (spec: JobSpec): string | null => policyRefusal(spec, config, 'outpost')?.code ?? null;

t.test('fail/strict: the agent\'s own user is never a job\'s user under jobIsolation: strict', async (t) => {
  const strict: PolicyConfig = { ...config, jobIsolation: 'strict' };
  t.equal(policyRefusal(job({ runAs: 'outpost' }), strict, 'outpost')?.code, 'AGENT_RUNAS_NOT_ALLOWED');
  t.match(policyRefusal(job({ runAs: 'outpost' }), strict, 'outpost')?.message, /jobIsolation is strict/);
  t.equal(policyRefusal(job({ runAs: 'batch' }), strict, 'outpost'), null, 'allowed users still run');
});

t.test('ok: what agent.yaml lists', async (t) => {
  for (const spec of [
    job({}),
    job({ runAs: 'outpost' }),
    job({ runAs: 'batch' }),
    job({ secretEnv: { PW: 'local-pw' } }),
    job({ processServer: 'db01' }),
    job({ processServer: 'db01', runAs: 'batch' }),
    job({ processServer: 'db01', runAs: 'oracle' }),
    job({ processServer: 'db01', credentialKey: 'db01-login' }),
    job({ processServer: 'db01', credentialKey: 'db01-admin' }),
    job({ processServer: 'db01', secretEnv: { A: 'db-pw' } }),
    job({ processServer: 'web02', runAs: 'www' }),
  ]) {
    t.equal(code(spec), null, JSON.stringify(spec));
  }
});

t.test('fail: everything else, with the code for it', async (t) => {
  const cases: [Partial<JobSpec>, string][] = [
    [{ runAs: 'root' }, 'AGENT_RUNAS_NOT_ALLOWED'],
    [{ processServer: 'db01', runAs: 'other' }, 'AGENT_RUNAS_NOT_ALLOWED'],
    [{ processServer: 'db01', runAs: 'outpost' }, 'AGENT_RUNAS_NOT_ALLOWED'],
    [{ processServer: 'web02', runAs: 'batch' }, 'AGENT_RUNAS_NOT_ALLOWED'],
    [{ processServer: 'web02', credentialKey: 'db01-login' }, 'AGENT_CREDENTIAL_NOT_ALLOWED'],
    [{ processServer: 'db01', credentialKey: 'web02-login' }, 'AGENT_CREDENTIAL_NOT_ALLOWED'],
    [{ secretEnv: { A: 'db-pw' } }, 'AGENT_SECRET_ENV_NOT_ALLOWED'],
    [{ processServer: 'web02', secretEnv: { A: 'db-pw' } }, 'AGENT_SECRET_ENV_NOT_ALLOWED'],
    [{ processServer: 'db01', secretEnv: { A: 'db-pw', B: 'local-pw' } }, 'AGENT_SECRET_ENV_NOT_ALLOWED'],
  ];
  for (const [over, expected] of cases) t.equal(code(job(over)), expected, JSON.stringify(over));
  t.match(policyRefusal(job({ processServer: 'web02', runAs: 'batch' }), config, 'outpost')?.message, /web02 allowedUsers/);
});

t.test('ok: a reload that removes a user refuses the job that names it', async (t) => {
  const spec = job({ processServer: 'db01', runAs: 'batch' });
  t.equal(code(spec), null);
  t.equal(policyRefusal(spec, { ...config, runAs: { ...config.runAs, allowedUsers: [] } }, 'outpost')?.code, 'AGENT_RUNAS_NOT_ALLOWED');
});
