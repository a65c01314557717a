import t from 'tap';
import { checkJobId, parseEndLine, planJob } from '../../agent/executors/ssh/job-plan.js';
import { launchInput } from '../../agent/executors/ssh/remote-scripts.js';
import { checkUserName, resolveLogin } from '../../agent/executors/ssh/login.js';
import { OutpostError } from '../../core/errors.js';
import { agentError } from '../../agent/errors.js';
import { tempDir } from '../fixtures/cli.js';

t.test('job kinds become a plan; the launch command line carries no argv or environment value', async (t) => {
  const command = planJob({ id: 'a', kind: 'command', command: 'echo $HOME' }, [], 's');
  t.same(command.argv, ['/bin/sh', '-c', 'echo $HOME']);
  const argv = planJob({ id: 'a', kind: 'argv', argv: ['ls', '-l'], env: { A: 'secret-value' }, cwd: '/srv', loginProfile: true }, [], 's');
  t.same(launchInput(argv).args, ['argv', '/srv', String(Buffer.byteLength(launchInput(argv).stdin)), '0']);
  t.match(launchInput(argv).stdin, /export A='secret-value'/);
  const script = planJob({ id: 'a', kind: 'script', script: 'echo', interpreter: '/bin/bash', args: ['x'] }, ['/bin/bash'], 's');
  const input = launchInput(script);
  t.equal(input.args[3], '4');
  t.ok(input.stdin.endsWith('echo'), 'the script follows the parameters');
  t.equal(script.stdin, 'echo');
});

t.test('interpreters outside the whitelist and bad fields are refused with their own codes', async (t) => {
  t.throws(() => planJob({ id: 'a', kind: 'command', command: 'x', interpreter: '/usr/bin/python3' }, ['/bin/sh'], 'db01'), { code: 'AGENT_SSH_INTERPRETER_NOT_ALLOWED', message: /python3.*db01/ });
  t.throws(() => planJob({ id: 'a', kind: 'script', script: 'x', interpreter: '/bin/zsh' }, [], 's'), { code: 'AGENT_SSH_INTERPRETER_NOT_ALLOWED' });
  t.throws(() => planJob({ id: 'a', kind: 'command', command: 'x', env: { 'BAD NAME': '1' } }, [], 's'), { code: 'AGENT_SSH_JOB_INVALID' });
  t.throws(() => planJob({ id: 'a', kind: 'argv', argv: [] }, [], 's'), { code: 'AGENT_SSH_JOB_INVALID' });
  t.throws(() => planJob({ id: 'a', kind: 'command' }, [], 's'), { code: 'AGENT_SSH_JOB_INVALID' });
  t.throws(() => planJob({ id: 'a', kind: 'argv', argv: ['a\0b'] }, [], 's'), { code: 'AGENT_SSH_JOB_INVALID' });
  for (const id of ['../x', 'A', '-a', 'a b', '']) t.throws(() => checkJobId(id), { code: 'AGENT_SSH_JOB_INVALID' }, id);
});

t.test('the end line is parsed from the last match only', async (t) => {
  t.same(parseEndLine('outpost-started 5\noutpost-end 3 20\n'), { state: 3, size: 20 });
  t.same(parseEndLine('outpost-end running 1\noutpost-end gone 9\n'), { state: 'gone', size: 9 });
  t.equal(parseEndLine('sudo: a password is required\n'), null);
});

t.test('user names follow the credential store: DOMAIN\\user is refused with advice', async (t) => {
  t.equal(checkUserName('batch', 'runAs'), 'batch');
  t.equal(checkUserName('jane@CORP.EXAMPLE', 'runAs'), 'jane@CORP.EXAMPLE');
  t.throws(() => checkUserName('CORP\\jane', 'runAs'), { code: 'AGENT_SSH_USERNAME_INVALID', message: /jane@CORP/ });
  t.throws(() => checkUserName('-n', 'runAs'), { code: 'AGENT_SSH_USERNAME_INVALID' });
  t.throws(() => checkUserName('a b', 'runAs'), { code: 'AGENT_SSH_USERNAME_INVALID' });
});

t.test('logins: credential rules, unknown keys pass through, own key missing is explained', async (t) => {
  const creds = {
    resolve: async (key: string) => {
      if (key === 'dom') return { key, user: 'CORP\\svc', password: 'x' };
      if (key === 'empty') return { key, user: 'svc' };
      if (key === 'pw') return { key, user: 'svc', password: 'secret' };
      throw agentError('AGENT_CREDENTIAL_UNKNOWN', `no credential ${key}`);
    },
  };
  await t.rejects(resolveLogin('s', creds, 'dom'), { code: 'AGENT_CREDENTIAL_BAD_USER', message: /svc@CORP/ });
  await t.rejects(resolveLogin('s', creds, 'empty'), { code: 'AGENT_SSH_AUTH_FAILED', message: /neither a password nor a private key/ });
  await t.rejects(resolveLogin('s', creds, 'nope'), { code: 'AGENT_CREDENTIAL_UNKNOWN' });
  t.same(await resolveLogin('s', creds, 'pw'), { username: 'svc', password: 'secret' });
  const home = await tempDir(t);
  const saved = process.env.HOME;
  process.env.HOME = home;
  t.teardown(() => {
    process.env.HOME = saved;
  });
  const err = await resolveLogin('db01', creds, undefined).catch((e: unknown) => e);
  t.ok(err instanceof OutpostError);
  t.match(err, { code: 'AGENT_SSH_AUTH_FAILED', message: /db01 has no credentialKey.*id_ed25519/ });
});
