import t from 'tap';
import { parseAgentConfig } from '../../agent/config.js';
import { describeExposures, isolationExposures, type IsolationInput, type OsAccount } from '../../agent/isolation-check.js';

const agent: OsAccount = { name: 'outpost-agent', uid: 998, gids: [998] };
const job: OsAccount = { name: 'outpost-job', uid: 997, gids: [997] };
const gwGroup = { name: 'outpost-gw', gid: 999, key: 'listen.group' };
const accounts = new Map<string, OsAccount>([
  ['outpost-job', job],
  ['outpost-agent', agent],
  ['root', { name: 'root', uid: 0, gids: [0] }],
  ['toor', { name: 'toor', uid: 0, gids: [0] }],
  ['gwmember', { name: 'gwmember', uid: 1001, gids: [1001, 999] }],
  ['alias', { name: 'alias', uid: 998, gids: [998] }],
]);
const input = (runAs: IsolationInput['runAs'], over: Partial<IsolationInput> = {}): IsolationInput => ({
  agent,
  runAs,
  jobIsolation: 'strict',
  accounts,
  apiGroup: gwGroup,
  ...over,
});

t.test('ok: the installed layout exposes nothing', async (t) => {
  t.same(isolationExposures(input({ defaultUser: 'outpost-job', allowedUsers: ['outpost-job'] })), []);
  t.same(isolationExposures(input({ defaultUser: 'outpost-job', allowedUsers: ['outpost-job', 'nosuchuser'] })), [], 'a user that does not exist is not a way in');
});

t.test('ok: a root agent that switches every job to another user exposes nothing', async (t) => {
  const root = { name: 'root', uid: 0, gids: [0] };
  t.same(isolationExposures(input({ defaultUser: 'outpost-job', allowedUsers: ['outpost-job'] }, { agent: root })), []);
});

t.test('fail/no default user: jobs without runAs run as the agent user (the reviewed layout)', async (t) => {
  const found = isolationExposures(input({ allowedUsers: ['batch'] }));
  t.same(found.map((e) => [e.key, e.user]), [['runAs.defaultUser', 'outpost-agent']]);
  t.match(describeExposures(found), /^runAs\.defaultUser is not set, so jobs that name no runAs run as outpost-agent: the agent's own user/);
});

t.test('fail/allowed users: the agent user (by name or uid), root (by uid) and members of the API group', async (t) => {
  const found = isolationExposures(input({ defaultUser: 'outpost-job', allowedUsers: ['outpost-job', 'outpost-agent', 'alias', 'toor', 'gwmember'] }));
  t.same(found.map((e) => [e.key, e.user]), [
    ['runAs.allowedUsers[1]', 'outpost-agent'],
    ['runAs.allowedUsers[2]', 'alias'],
    ['runAs.allowedUsers[3]', 'toor'],
    ['runAs.allowedUsers[4]', 'gwmember'],
  ]);
  t.match(found[2]?.why, /root, who can read every file/);
  t.match(found[3]?.why, /member of group outpost-gw \(listen\.group\), which can reach the agent's API/);
});

t.test('fail/root agent without a default user: jobs would run as root', async (t) => {
  const root = { name: 'root', uid: 0, gids: [0] };
  const found = isolationExposures(input({ allowedUsers: ['outpost-job'] }, { agent: root }));
  t.same(found.map((e) => [e.key, e.user]), [['runAs.defaultUser', 'root']]);
  t.match(found[0]?.why, /root, who can read every file/);
});

t.test('warn mode: runAs naming the agent user is itself a way in, and is reported', async (t) => {
  const found = isolationExposures(input({ defaultUser: 'outpost-job', allowedUsers: ['outpost-job'] }, { jobIsolation: 'warn' }));
  t.same(found.map((e) => [e.key, e.user]), [['jobIsolation', 'outpost-agent']]);
});

t.test('config: jobIsolation defaults to strict; only strict and warn are accepted', async (t) => {
  const base = { listen: { socket: '/run/outpost/agent.sock' }, dataDir: '/var/lib/outpost/agent' };
  t.equal(parseAgentConfig(base).jobIsolation, 'strict');
  t.equal(parseAgentConfig({ ...base, jobIsolation: 'warn' }).jobIsolation, 'warn');
  t.throws(() => parseAgentConfig({ ...base, jobIsolation: 'off' }), { code: 'CORE_CONFIG_INVALID', message: /jobIsolation/ });
});
