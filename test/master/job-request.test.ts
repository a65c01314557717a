import t from 'tap';
import { buildJobRequest, commandSummary, renderDescription, validateJobId, parseSeconds } from '../../master/job-request.js';

t.test('words after -- travel as argv, never re-quoted', async (t) => {
  const body = buildJobRequest({ words: ['sh', '-c', 'exit 4'] });
  t.same(body, { argv: ['sh', '-c', 'exit 4'] });
  const tricky = buildJobRequest({ words: ['echo', '$HOME; rm -rf /', "it's", ''] });
  t.same(tricky.argv, ['echo', '$HOME; rm -rf /', "it's", ''], 'metacharacters and empty words stay as they are');
});

t.test('--command sends a command line and --script sends text with args', async (t) => {
  t.same(buildJobRequest({ words: [], command: 'echo a | tr a b' }), { command: 'echo a | tr a b' });
  t.same(buildJobRequest({ words: ['one', 'two words'], scriptText: '#!/bin/sh\necho "$1"\n', interpreter: '/bin/sh' }), {
    script: '#!/bin/sh\necho "$1"\n',
    args: ['one', 'two words'],
    interpreter: '/bin/sh',
  });
});

t.test('exactly one job kind', async (t) => {
  t.throws(() => buildJobRequest({ words: [] }), { code: 'MASTER_USAGE', message: /nothing to run/ });
  t.throws(() => buildJobRequest({ words: ['ls'], command: 'ls' }), { code: 'MASTER_USAGE', message: /only one of words after --, --command/ });
  t.throws(() => buildJobRequest({ words: [], command: 'ls', scriptText: 'ls' }), { code: 'MASTER_USAGE' });
  t.throws(() => buildJobRequest({ words: [], command: '   ' }), { code: 'MASTER_USAGE', message: /non-empty/ });
  t.throws(() => buildJobRequest({ words: [], scriptText: '' }), { code: 'MASTER_USAGE', message: /empty/ });
  t.throws(() => buildJobRequest({ words: ['ls'], interpreter: '/bin/bash' }), { code: 'MASTER_USAGE', message: /--interpreter/ });
});

t.test('options map to the wire fields', async (t) => {
  const body = buildJobRequest({
    words: ['true'],
    env: ['A=1', 'B=x=y', 'EMPTY='],
    cwd: '/tmp',
    runAs: 'batch',
    credentialKey: 'db01-login',
    processServer: 'db01',
    timeout: '2.5',
    description: 'Run %{command} on %{host}',
  });
  t.same(body, {
    argv: ['true'],
    env: { A: '1', B: 'x=y', EMPTY: '' },
    cwd: '/tmp',
    runAs: 'batch',
    credentialKey: 'db01-login',
    processServer: 'db01',
    timeoutSeconds: 2.5,
    description: 'Run %{command} on %{host}',
  });
  t.throws(() => buildJobRequest({ words: ['true'], env: ['NOEQUALS'] }), { code: 'MASTER_USAGE' });
  t.throws(() => buildJobRequest({ words: ['true'], env: ['1BAD=x'] }), { code: 'MASTER_USAGE' });
  t.throws(() => buildJobRequest({ words: ['true'], timeout: '-1' }), { code: 'MASTER_USAGE' });
  t.throws(() => buildJobRequest({ words: ['true'], timeout: '10s' }), { code: 'MASTER_USAGE' });
  t.throws(() => buildJobRequest({ words: ['true'], description: '%{nope}' }), { code: 'MASTER_USAGE', message: /%\{nope\}/ });
  t.equal(parseSeconds('30', '--timeout'), 30);
});

t.test('descriptions and summaries', async (t) => {
  t.equal(renderDescription('Restart on %{host}: %{command}', { host: 'web01', command: 'systemctl restart x' }), 'Restart on web01: systemctl restart x');
  t.equal(commandSummary({ argv: ['sh', '-c', 'exit 4'] }), 'sh -c "exit 4"');
  t.equal(commandSummary({ command: 'echo hi' }), 'echo hi');
  t.equal(commandSummary({ script: '#!/bin/sh\n\necho first\necho second' }), 'script: echo first');
});

t.test('job ids are validated strictly', async (t) => {
  t.equal(validateJobId('j-20261123-abc123'), 'j-20261123-abc123');
  for (const bad of ['', '../etc', 'ABC', 'a/b', 'a b', '-lead', 'a%2f']) {
    t.throws(() => validateJobId(bad), { code: 'MASTER_INVALID_JOB_ID' }, bad);
  }
});

t.test('--template sends the name and the inputs as strings; what the template defines cannot be added', async (t) => {
  t.same(buildJobRequest({ words: [], template: 'disk-usage', inputs: ['path=/srv', 'MSG=a=b; $(id)'], timeout: '30' }), {
    template: 'disk-usage',
    inputs: { path: '/srv', MSG: 'a=b; $(id)' },
    timeoutSeconds: 30,
  });
  t.same(buildJobRequest({ words: [], template: 'say', runAs: 'batch' }), { template: 'say', runAs: 'batch' });
  t.throws(() => buildJobRequest({ words: ['ls'], template: 'say' }), { code: 'MASTER_USAGE', message: /--template defines what runs; drop words after --/ });
  t.throws(() => buildJobRequest({ words: [], template: 'say', env: ['A=1'], cwd: '/' }), { message: /drop --env, --cwd/ });
  t.throws(() => buildJobRequest({ words: [], template: 'say', inputs: ['novalue'] }), { message: /--input needs NAME=VALUE/ });
  t.throws(() => buildJobRequest({ words: [], template: 'say', inputs: ['A=1', 'A=2'] }), { message: /--input A is given twice/ });
  t.throws(() => buildJobRequest({ words: ['ls'], inputs: ['A=1'] }), { message: /--input goes with --template/ });
  t.equal(commandSummary({ template: 'say', inputs: { MSG: 'hello world', N: '3' } }), 'template say MSG="hello world" N=3');
});

t.test('--login-profile travels as loginProfile, and not with a template (which defines how it runs)', async (t) => {
  t.same(buildJobRequest({ words: ['id'], loginProfile: true }), { argv: ['id'], loginProfile: true });
  t.same(buildJobRequest({ words: ['id'], loginProfile: false }), { argv: ['id'] });
  t.throws(() => buildJobRequest({ words: [], template: 'greet', loginProfile: true }), { code: 'MASTER_USAGE', message: /drop --login-profile/ });
});
