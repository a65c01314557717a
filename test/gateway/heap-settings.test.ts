import t from 'tap';
import { GATEWAY_V8_FLAGS, gatewayExecArgs, startsGateway } from '../../gateway/heap-settings.js';

t.test('only `gateway start` is started again, with the flags first and everything else kept', async (t) => {
  const argv = ['/usr/bin/node', '/usr/lib/outpost/dist/cli.js', '--debug', 'gateway', 'start', '--config', 'g.yaml'];
  t.ok(startsGateway(argv));
  t.same(gatewayExecArgs(argv, ['--enable-source-maps'], undefined), [...GATEWAY_V8_FLAGS, '--enable-source-maps', ...argv.slice(1)]);
  for (const other of [['node', 'cli.js', 'gateway', 'check', '--config', 'g.yaml'], ['node', 'cli.js', 'agent', 'start'], ['node', 'cli.js', 'job', 'run', '--', 'gateway', 'start']]) {
    t.equal(gatewayExecArgs(other, [], undefined), null, other.join(' '));
  }
});

t.test('a gateway already running with a semi-space size (ours, or the operator\'s) is left as it is', async (t) => {
  const argv = ['node', 'cli.js', 'gateway', 'start'];
  t.equal(gatewayExecArgs(argv, [...GATEWAY_V8_FLAGS], undefined), null, 'after the re-exec: no loop');
  t.equal(gatewayExecArgs(argv, ['--max-semi-space-size=32'], undefined), null, 'a node option of the operator');
  t.equal(gatewayExecArgs(argv, [], '--import x --max-semi-space-size=4'), null, 'NODE_OPTIONS of the operator');
  t.not(gatewayExecArgs(argv, [], '--import x'), null, 'other NODE_OPTIONS do not count');
});
