/**
 * The quick start works: `npm run demo` (here the script itself; the test command has built dist/) makes a
 * CA, starts an agent and a gateway, runs a real job through mutual TLS, shows a GET-only client refused a
 * POST, and prints the status page. Run with --keep so the running site can be checked, then Ctrl-C must
 * stop it and remove every file.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/cli.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('npm run demo --keep: a working site, then a clean stop', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/demo.ts'), '--keep'], {
    cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    const until = Date.now() + 150_000;
    const poll = (): void => {
      if (/Left running/.test(out)) return resolve();
      if (child.exitCode !== null || Date.now() > until) return reject(new Error(`demo did not reach --keep:\n${out}`));
      setTimeout(poll, 100);
    };
    poll();
  });
  const dir = /Outpost demo in (\S+)/.exec(out)?.[1] ?? '';
  const agentPid = Number(/agent pid (\d+)/.exec(out)?.[1]);
  const gatewayPid = Number(/gateway pid (\d+)/.exec(out)?.[1]);
  t.match(out, /\[127\.0\.0\.1:\d+\] hello from \S+ as \S+/, 'a real job ran through mutual TLS');
  t.match(out, /exit status 3 \(the job's own exit code/);
  t.match(out, /MASTER_ACCESS_DENIED: .*GATEWAY_METHOD_NOT_ALLOWED/, 'the GET-only client was refused a POST');
  t.match(out, /"decision":"deny","rule":"monitoring"/, 'and the audit log says so');
  t.match(out, /https:\/\/127\.0\.0\.1:\d+\/ {2}\(HTTP 200/, 'the status page answered');
  t.ok(existsSync(dir), 'files kept while running');
  for (const f of ['ca.password', 'p12.password']) {
    const secret = (await readFile(join(dir, f), 'utf8')).trim();
    t.ok(secret.length >= 16 && !out.includes(secret), `the secret in ${f} never reaches the screen`);
  }
  t.notMatch(out, /BEGIN [A-Z ]*PRIVATE KEY/, 'nor a private key');
  t.ok(alive(agentPid) && alive(gatewayPid), 'agent and gateway left running');
  child.kill('SIGINT');
  t.equal(await exited, 0, out);
  t.match(out, /Demo complete/);
  t.notOk(existsSync(dir), 'temporary directory removed');
  t.notOk(alive(agentPid) || alive(gatewayPid), 'agent and gateway stopped');
});
