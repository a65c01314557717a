/**
 * The master's answer to a submission is lost after the agent accepted the job (the connection is reset,
 * or the gateway dies and comes back): `outpost job run` sends it again with the same Idempotency-Key,
 * the agent answers the job it already has, the job runs once and the CLI reports it once.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOutpost } from '../fixtures/cli.js';
import { startStack } from '../fixtures/stack.js';
import { startCuttingProxy } from '../fixtures/cutting-proxy.js';

const stack = await startStack(t, { host: '127.0.0.4' });

async function jobCount(): Promise<number> {
  return ((await stack.agent.request('GET', '/v1/jobs')).json().jobs as unknown[]).length;
}

async function postsInAudit(): Promise<number> {
  const audit = await readFile(stack.auditPath, 'utf8').catch(() => '');
  return audit.split('\n').filter((l) => l.includes('"POST"') && l.includes('"/v1/jobs"')).length;
}

async function runThroughProxy(port: number, marker: string) {
  const sideEffects = join(stack.dir, `${marker}.log`);
  const r = await runOutpost(['job', 'run', '--agent', `https://127.0.0.4:${port}`, '--', 'sh', '-c', `echo once >> ${sideEffects}; echo ${marker}`], {
    env: stack.env,
    timeoutMs: 60_000,
  });
  return { r, ran: (await readFile(sideEffects, 'utf8').catch(() => '')).split('\n').filter(Boolean).length };
}

t.test('the answer is lost on the wire after acceptance: one job, reported once', async (t) => {
  const before = await jobCount();
  const postsBefore = await postsInAudit();
  const proxy = await startCuttingProxy(t, {
    host: '127.0.0.4',
    target: () => ({ host: '127.0.0.4', port: stack.port }),
    cutWhen: async () => (await jobCount()) > before,
  });
  const { r, ran } = await runThroughProxy(proxy.port, 'reset-marker');
  t.equal(proxy.cuts, 1, 'the first answer was dropped');
  t.equal(r.code, 0, r.stderr);
  t.equal(ran, 1, 'the job ran once');
  t.equal(r.stdout.match(/reset-marker/g)?.length, 1, `output reported once:\n${r.stdout}`);
  t.equal(r.stderr.match(/ submitted to /g)?.length, 1, `submitted once, as far as the operator sees:\n${r.stderr}`);
  t.match(r.stderr, /1 host: 1 succeeded/);
  t.equal(await jobCount(), before + 1, 'one job on the agent');
  t.ok((await postsInAudit()) - postsBefore >= 2, 'the submission was sent again');
});

t.test('the gateway is killed right after acceptance and restarted: one job, reported once', async (t) => {
  const before = await jobCount();
  const proxy = await startCuttingProxy(t, {
    host: '127.0.0.4',
    target: () => ({ host: '127.0.0.4', port: stack.port }),
    cutWhen: async () => (await jobCount()) > before,
    afterCut: async () => {
      await stack.killGateway();
      // Down long enough for the master's resends to be refused a few times.
      setTimeout(() => void stack.startGateway(), 1500);
    },
  });
  const { r, ran } = await runThroughProxy(proxy.port, 'gateway-marker');
  t.equal(proxy.cuts, 1);
  t.equal(r.code, 0, r.stderr);
  t.equal(ran, 1, 'the job ran once');
  t.equal(r.stdout.match(/gateway-marker/g)?.length, 1, `output reported once:\n${r.stdout}`);
  t.equal(await jobCount(), before + 1, 'one job on the agent');
});
