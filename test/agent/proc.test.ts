import t from 'tap';
import { isSameProcess, parseStartTime, processStartTime, signalName } from '../../agent/proc.js';

t.test('start time is field 22, counted after the last parenthesis', async (t) => {
  const rest = 'S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0';
  t.equal(parseStartTime(`42 (a) b) c (d) ${rest}`), '123456');
  t.equal(parseStartTime('garbage'), null);
});

t.test('a process is pid plus start time: a wrong start time is another process', async (t) => {
  const mine = processStartTime(process.pid);
  t.match(mine, /^\d+$/);
  t.ok(isSameProcess(process.pid, mine as string));
  t.notOk(isSameProcess(process.pid, '1'));
  t.notOk(isSameProcess(2 ** 22 + 7, '1'), 'no such pid');
  t.equal(signalName(9), 'SIGKILL');
});
