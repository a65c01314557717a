import t from 'tap';
import { compilerTiers, daemonExecPlan, operatorChoseCompilers, type DaemonRuntime } from '../../core/daemon-runtime.js';
import { AGENT_RUNTIME } from '../../agent/heap-settings.js';
import { GATEWAY_RUNTIME, GATEWAY_V8_FLAGS } from '../../gateway/heap-settings.js';
import { MASTER_RUNTIME } from '../../master/runtime-settings.js';

const DAEMONS: readonly DaemonRuntime[] = [AGENT_RUNTIME, GATEWAY_RUNTIME];
const V8_24 = '13.6.233.17-node.37';
const V8_20 = '11.3.244.8-node.33';
const PAUSE_24 = ['--no-sparkplug', '--no-maglev', '--no-opt'];

t.test('the compilers on by default: Maglev only from V8 12 (Node 22) on', async (t) => {
  t.same(compilerTiers(V8_24), ['sparkplug', 'maglev', 'opt']);
  t.same(compilerTiers(V8_20), ['sparkplug', 'opt'], 'Node 20 ships Maglev off: it is never turned on');
});

t.test('only the daemons start again: heap flags first, then the paused compilers, everything else kept', async (t) => {
  const gw = ['/usr/bin/node', '/usr/lib/outpost/dist/cli.js', '--debug', 'gateway', 'start', '--config', 'g.yaml'];
  t.same(daemonExecPlan(gw, ['--enable-source-maps'], undefined, DAEMONS, V8_24), {
    args: [...GATEWAY_V8_FLAGS, ...PAUSE_24, '--enable-source-maps', ...gw.slice(1)],
    paused: ['sparkplug', 'maglev', 'opt'],
  });
  const agent = ['node', 'cli.js', 'agent', 'start', '--config', 'a.yaml'];
  t.same(daemonExecPlan(agent, [], undefined, DAEMONS, V8_24), { args: [...PAUSE_24, ...agent.slice(1)], paused: ['sparkplug', 'maglev', 'opt'] });
  for (const other of [['node', 'cli.js', 'gateway', 'check', '--config', 'g.yaml'], ['node', 'cli.js', 'agent', 'status'], ['node', 'cli.js', 'job', 'run', '--', 'gateway', 'start']]) {
    t.equal(daemonExecPlan(other, [], undefined, DAEMONS, V8_24), null, other.join(' '));
  }
});

t.test("the operator's own flags win, and a replaced process does not loop", async (t) => {
  const gw = ['node', 'cli.js', 'gateway', 'start'];
  t.same(daemonExecPlan(gw, ['--max-semi-space-size=32'], undefined, DAEMONS, V8_24)?.args, [...PAUSE_24, '--max-semi-space-size=32', ...gw.slice(1)], 'their semi-space size stays, compilers still paused');
  t.same(daemonExecPlan(gw, [], '--import x --no-opt', DAEMONS, V8_24)?.paused, [], 'a compiler flag in NODE_OPTIONS: no pausing at all');
  t.same(daemonExecPlan(gw, [], '--import x --max-semi-space-size=4', DAEMONS, V8_24)?.args.slice(0, 3), PAUSE_24, 'NODE_OPTIONS heap flag of the operator kept');
  t.equal(daemonExecPlan(gw, ['--max-semi-space-size=4', '--jitless'], undefined, DAEMONS, V8_24), null, 'nothing left to add');
  const replaced = daemonExecPlan(gw, [], undefined, DAEMONS, V8_24);
  t.equal(daemonExecPlan(['node', ...(replaced?.args ?? [])], [...GATEWAY_V8_FLAGS, ...PAUSE_24], undefined, DAEMONS, V8_24), null, 'after the replacement: no loop');
  t.ok(operatorChoseCompilers([], '--lite-mode'));
  t.notOk(operatorChoseCompilers(['--optimize-for-size'], '--import x'), 'a flag that only begins like one does not count');
});

t.test('job run starts again with its heap flag and its compilers on, once', async (t) => {
  const all = [...DAEMONS, MASTER_RUNTIME];
  const run = ['node', 'cli.js', 'job', 'run', '--agents-file', 'f', '--', 'gateway', 'start'];
  for (const v8 of [V8_24, V8_20]) {
    const plan = daemonExecPlan(run, ['--enable-source-maps'], undefined, all, v8);
    t.same(plan, { args: [...MASTER_RUNTIME.heapFlags, '--enable-source-maps', ...run.slice(1)], paused: [] }, v8);
    t.equal(daemonExecPlan(['node', ...(plan?.args ?? []).slice(2)], [...MASTER_RUNTIME.heapFlags, '--enable-source-maps'], undefined, all, v8), null, 'no loop');
  }
  t.equal(daemonExecPlan(run, [], '--max-semi-space-size=16', all, V8_24), null, 'the operator\'s semi-space size wins');
  t.equal(daemonExecPlan(['node', 'cli.js', 'job', 'status', 'x'], [], undefined, all, V8_24), null, 'other job commands run as they are');
});
