import t from 'tap';
import { buildInvocation, resolveInterpreter, type InvocationOptions } from '../../agent/executors/local/invocation.js';
import { SHIM_MAIN } from '../../agent/executors/local/supervisor-source.js';

const o: InvocationOptions = {
  interpreterWhitelist: ['/bin/sh', '/bin/bash', '/usr/bin/python3'],
  localInterpreter: { bash: '/bin/bash', python: '/usr/bin/python3' },
  runAsMethod: 'sudo',
  agentUser: 'outpost',
  jobIsolation: 'warn',
  perl: '/usr/bin/perl',
  baseEnv: { PATH: '/usr/bin:/bin', HOME: '/var/lib/outpost' },
};
const payload = (p: string): string[] => p.split('\0');

t.test('ok: command goes to sh -c as one argument', async (t) => {
  const inv = buildInvocation({ id: 'j1', kind: 'command', command: 'echo $HOME; rm -rf "$x"' }, o);
  t.same(inv.argv, ['/bin/sh', '-c', 'echo $HOME; rm -rf "$x"']);
  t.equal(inv.mode, 'inline');
  const [clear, cwd, si, , ...kv] = payload(inv.payload);
  t.same([clear, cwd, si], ['1', '', '-1']);
  t.same(kv, ['PATH', '/usr/bin:/bin', 'HOME', '/var/lib/outpost', 'OUTPOST_JOB_ID', 'j1']);
});

t.test('ok: argv and script args stay separate arguments', async (t) => {
  const evil = ['; rm -rf /', '$(id)', '`id`', '"\'', '&&', '|'];
  t.same(buildInvocation({ id: 'j', kind: 'argv', argv: ['/bin/echo', ...evil] }, o).argv, ['/bin/echo', ...evil]);
  const s = buildInvocation({ id: 'j', kind: 'script', script: 'echo "$1"', interpreter: 'bash', args: evil }, o);
  t.same(s.argv, ['/bin/bash', ...evil]);
  const [, , si, script] = payload(s.payload);
  t.equal(si, '1', 'the script fd goes right after the interpreter');
  t.equal(script, 'echo "$1"');
});

t.test('ok: interpreter names map through localInterpreter; fail: outside the whitelist', async (t) => {
  t.equal(resolveInterpreter('python', o), '/usr/bin/python3');
  t.equal(resolveInterpreter(undefined, o), '/bin/sh');
  t.throws(() => resolveInterpreter('/usr/bin/perl', o), { code: 'AGENT_INTERPRETER_NOT_ALLOWED' });
  t.throws(() => resolveInterpreter('ruby', o), { code: 'AGENT_INTERPRETER_NOT_ALLOWED' });
});

t.test('ok: runAs goes through sudo -n -u with env on stdin, not argv', async (t) => {
  const inv = buildInvocation({ id: 'j', kind: 'command', command: 'id', runAs: 'batch', env: { TOKEN: 'not-in-argv' } }, o);
  t.same(inv.argv.slice(0, 6), ['sudo', '-n', '-H', '-u', 'batch', '--']);
  t.same(inv.argv.slice(6, 10), ['/usr/bin/perl', '-e', SHIM_MAIN, '--']);
  t.same(inv.argv.slice(10), ['/bin/sh', '-c', 'id']);
  t.equal(inv.mode, 'stdin');
  t.notOk(inv.argv.some((a) => a.includes('not-in-argv')));
  t.match(inv.payload, /TOKEN\0not-in-argv/);
  t.equal(inv.switchProgram, '/usr/bin/perl');
  t.equal(buildInvocation({ id: 'j', kind: 'command', command: 'id', runAs: 'outpost' }, o).mode, 'inline', 'its own user needs no switch');
});

t.test('ok: login profile wraps in sh -l and shifts the script index', async (t) => {
  const inv = buildInvocation({ id: 'j', kind: 'script', script: 'x', loginProfile: true }, o);
  t.same(inv.argv.slice(0, 5), ['/bin/sh', '-l', '-c', 'exec "$0" "$@"', '/bin/sh']);
  t.equal(payload(inv.payload)[2], '5');
  const su = buildInvocation({ id: 'j', kind: 'command', command: 'id', runAs: 'batch', loginProfile: true }, { ...o, runAsMethod: 'su' });
  t.same(su.argv.slice(0, 6), ['su', '-l', '-s', '/bin/sh', '--', 'batch']);
});

t.test('fail/strict isolation: a job that would run as the agent user is refused, whatever its kind', async (t) => {
  const strict = { ...o, jobIsolation: 'strict' as const };
  for (const runAs of [undefined, 'outpost']) {
    t.throws(() => buildInvocation({ id: 'j9', kind: 'argv', argv: ['/usr/bin/id'], ...(runAs ? { runAs } : {}) }, strict), {
      code: 'AGENT_RUNAS_NOT_ALLOWED',
      message: /job j9 would run as the agent's own user outpost, which jobIsolation: strict never allows/,
    }, String(runAs));
  }
  t.equal(buildInvocation({ id: 'j9', kind: 'argv', argv: ['/usr/bin/id'], runAs: 'batch' }, strict).argv[0], 'sudo', 'other users switch as before');
});

t.test('ok: the kill switch runs as the job user the way the job was switched; none without runAs', async (t) => {
  const sudo = buildInvocation({ id: 'j', kind: 'command', command: 'id', runAs: 'batch' }, o);
  t.same(sudo.switchAs, ['sudo', '-n', '-u', 'batch', '--'], 'never prompts, same sudo rule as the job');
  const su = buildInvocation({ id: 'j', kind: 'command', command: 'id', runAs: 'batch' }, { ...o, runAsMethod: 'su' });
  t.same(su.switchAs, ['su', '-s', '/bin/sh', '--', 'batch', '-c', 'exec "$0" "$@"']);
  t.same(buildInvocation({ id: 'j', kind: 'command', command: 'id' }, o).switchAs, []);
  t.same(buildInvocation({ id: 'j', kind: 'command', command: 'id', runAs: 'outpost' }, o).switchAs, [], 'its own user: signals directly');
});
