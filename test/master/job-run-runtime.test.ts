import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliPath } from '../fixtures/cli.js';
import { createSharedPki } from '../fixtures/stack.js';
import { MASTER_RUNTIME } from '../../master/runtime-settings.js';

// `job run` replaces itself with its heap flag where Node has execve (Node 24): same pid, same exit status.
t.test('a running `job run` carries its heap flag on Node 24 and runs as it is on Node 20', async (t) => {
  const shared = await createSharedPki(t);
  // A host that accepts and never answers the handshake keeps the run alive until its connect timeout.
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s.on('error', () => undefined)));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const url = `https://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const child = spawn(process.execPath, [cliPath, 'job', 'run', '--agent', url, '--connect-timeout', '3', '--json', '--', 'true'], {
    env: { ...process.env, OUTPOST_CERT: shared.master.certPath, OUTPOST_KEY: shared.master.keyPath, OUTPOST_CA: shared.pki.caCertPath, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Wait until the process runs the CLI proper (it has connected), then read its command line.
  const until = Date.now() + 10_000;
  while (sockets.size === 0 && Date.now() < until) await sleep(20);
  t.equal(sockets.size, 1, 'the master connected');
  const cmdline = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
  const flag = MASTER_RUNTIME.heapFlags[0] as string;
  if (typeof (process as { execve?: unknown }).execve === 'function') t.ok(cmdline.includes(flag), `${flag} on the command line: ${cmdline.join(' ')}`);
  else t.notOk(cmdline.includes(flag), 'no execve: started as it is');
  t.equal(await exited, 1, 'the unreachable host fails the run, and the replaced process reports it');
  t.match(stdout, /"type":"summary".*MASTER_CONNECT_TIMEOUT/);
});
