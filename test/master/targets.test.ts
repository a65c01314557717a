import t from 'tap';
import { parseAgentUrl, parseTargetSpec, parseAgentsFile, mergeTargets } from '../../master/targets.js';

t.test('agent URLs must be https without credentials', async (t) => {
  t.equal(parseAgentUrl('https://127.0.0.2:8443/'), 'https://127.0.0.2:8443');
  t.equal(parseAgentUrl('https://gw.example/outpost/'), 'https://gw.example/outpost');
  t.throws(() => parseAgentUrl('http://127.0.0.1:8443'), { code: 'MASTER_BAD_AGENT_URL', message: /https/ });
  t.throws(() => parseAgentUrl('https://u:p@host'), { code: 'MASTER_BAD_AGENT_URL' });
  t.throws(() => parseAgentUrl('not a url'), { code: 'MASTER_BAD_AGENT_URL' });
  t.throws(() => parseAgentUrl('https://h/?x=1'), { code: 'MASTER_BAD_AGENT_URL' });
});

t.test('a target spec is [NAME] URL[,URL…]', async (t) => {
  t.same(parseTargetSpec('https://127.0.0.2:8443'), { name: '127.0.0.2:8443', candidates: ['https://127.0.0.2:8443'] });
  t.same(parseTargetSpec('https://a:1,https://b:2'), { name: 'a:1', candidates: ['https://a:1', 'https://b:2'] });
  t.same(parseTargetSpec('db01  https://a:1, https://b:2'), { name: 'db01', candidates: ['https://a:1', 'https://b:2'] });
  t.same(parseTargetSpec('https://[::1]:9'), { name: '[::1]:9', candidates: ['https://[::1]:9'] });
  t.throws(() => parseTargetSpec('db01'), { code: 'MASTER_BAD_AGENT_URL' });
  t.throws(() => parseTargetSpec('https://a:1,https://a:1'), { code: 'MASTER_BAD_AGENT_URL', message: /twice/ });
  t.throws(() => parseTargetSpec('bad/name https://a:1'), { code: 'MASTER_AGENTS_FILE_INVALID' });
});

t.test('agents files: comments, blank lines, every bad line reported', async (t) => {
  const targets = parseAgentsFile('# fleet\n\nhttps://127.0.0.2:1\ndb01 https://127.0.0.3:1, https://127.0.0.4:1  # two proxies\n');
  t.same(targets.map((x) => x.name), ['127.0.0.2:1', 'db01']);
  t.same(targets[1]?.candidates, ['https://127.0.0.3:1', 'https://127.0.0.4:1']);
  t.throws(() => parseAgentsFile('https://ok:1\nhttp://bad:1\n\nweb02\n', 'fleet.txt'), {
    code: 'MASTER_AGENTS_FILE_INVALID',
    message: /fleet\.txt: line 2: .*https.*; line 4: /,
  });
});

t.test('merged target names are unique and at least one target is given', async (t) => {
  const a = parseTargetSpec('https://a:1');
  t.same(mergeTargets([[a], [parseTargetSpec('b https://a:1')]]).map((x) => x.name), ['a:1', 'b']);
  t.throws(() => mergeTargets([[a], [a]]), { code: 'MASTER_USAGE', message: /twice/ });
  t.throws(() => mergeTargets([[], []]), { code: 'MASTER_USAGE', message: /no agent/ });
});
