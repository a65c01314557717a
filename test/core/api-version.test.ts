/**
 * The API compatibility decisions (core/api-version.ts): the master's on an agent's announced version and
 * the agent's on a client's.
 */
import t from 'tap';
import { API_VERSION, incompatibleAgentAdvice, judgeAgentApi, judgeClientApi, parseApiVersion } from '../../core/api-version.js';

t.test('versions are MAJOR or MAJOR.MINOR and nothing else', async (t) => {
  t.same(parseApiVersion('1'), { major: 1, minor: 0 });
  t.same(parseApiVersion(' 2.7 '), { major: 2, minor: 7 });
  for (const bad of ['', 'v1', '1.', '.1', '1.2.3', '-1', '1, 2', '1 2', '1234567', 'one']) t.equal(parseApiVersion(bad), null, JSON.stringify(bad));
  t.equal(parseApiVersion(undefined), null);
  t.equal(parseApiVersion(['1']), null, 'a repeated header is not a version');
});

t.test('the master accepts an agent of its own major, whatever the minor', async (t) => {
  t.match(judgeAgentApi('1', 1), { compatible: true, peer: { major: 1, minor: 0 } });
  t.match(judgeAgentApi('1.9', 1), { compatible: true, peer: { major: 1, minor: 9 } });
  t.match(judgeAgentApi(String(API_VERSION)), { compatible: true }, 'this build accepts itself');
});

t.test('the master refuses an agent without a version, with another major or an unreadable one', async (t) => {
  t.same(judgeAgentApi(undefined, 1), { compatible: false, why: 'missing', announced: undefined });
  t.match(judgeAgentApi('2', 1), { compatible: false, why: 'newer', announced: '2' });
  t.match(judgeAgentApi('1.4', 2), { compatible: false, why: 'older', announced: '1.4' });
  t.match(judgeAgentApi('banana', 1), { compatible: false, why: 'malformed', announced: 'banana' });
  t.match(judgeAgentApi(['1', '1'], 1), { compatible: false, why: 'malformed', announced: '1, 1' });
});

t.test('the agent serves clients that announce nothing, and its own major only', async (t) => {
  t.match(judgeClientApi(undefined, 1), { compatible: true }, 'curl, scripts and browsers send no header');
  t.match(judgeClientApi('1.3', 1), { compatible: true });
  t.match(judgeClientApi('2', 1), { compatible: false, why: 'newer' });
  t.match(judgeClientApi('0', 1), { compatible: false, why: 'older' });
  t.match(judgeClientApi('', 1), { compatible: false, why: 'malformed' });
});

t.test('the advice names both versions and the side to upgrade', async (t) => {
  const advice = (announced: string | undefined, ours: number): string => {
    const v = judgeAgentApi(announced, ours);
    if (v.compatible) throw new Error('expected incompatible');
    return incompatibleAgentAdvice(v, ours);
  };
  t.match(advice('2', 1), /agent speaks API 2, this master speaks API 1: upgrade the master/);
  t.match(advice('1', 2), /agent speaks API 1, this master speaks API 2: upgrade the agent/);
  t.match(advice(undefined, 1), /announces no API version .*speaks API 1: upgrade the agent/);
  t.match(advice('x', 1), /"x".*speaks API 1/);
});
