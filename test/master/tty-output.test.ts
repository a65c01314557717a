/**
 * What a person at a terminal sees versus a pipe: `outpost job run` under a real pseudo-terminal
 * (util-linux `script`) shows a progress bar for many hosts and coloured host prefixes; NO_COLOR turns
 * colour off; piped output has neither.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { startMtlsFleet } from '../fixtures/mtls-server.js';
import { cliPath, runOutpost } from '../fixtures/cli.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) {
  t.test('TTY output: util-linux script is not installed', { skip: 'needs script(1)' }, () => undefined);
} else {
  const { servers, env } = await startMtlsFleet(t, 'outpost-master-tty-', [{ host: '127.0.0.1' }, { host: '127.0.0.2' }, { host: '127.0.0.3' }]);
  const args = ['job', 'run', ...servers.flatMap((s) => ['--agent', s.url]), '--', 'echo', 'hi'];
  const q = (w: string): string => `'${w.replace(/'/g, `'\\''`)}'`;

  const inTerminal = (extraEnv: Record<string, string>): Promise<string> => new Promise((resolve, reject) => {
    const env2: NodeJS.ProcessEnv = { ...process.env, ...env, ...extraEnv, TERM: 'xterm-256color' };
    delete env2.NO_COLOR;
    if (extraEnv.NO_COLOR) env2.NO_COLOR = extraEnv.NO_COLOR;
    const child = spawn('script', ['-qec', [process.execPath, cliPath, ...args].map(q).join(' '), '/dev/null'], { env: env2, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end();
  });

  t.test('a terminal gets a progress bar and coloured host prefixes', async (t) => {
    const out = await inTerminal({});
    t.match(out, /hosts done/, 'progress bar drawn');
    t.ok(out.includes('\u001b[36m[127.0.0.1:'), 'host prefix coloured');
    t.match(out, /3 hosts: 3 succeeded/);
  });

  t.test('NO_COLOR turns colour off, even on a terminal', async (t) => {
    const out = await inTerminal({ NO_COLOR: '1' });
    t.notMatch(out.replaceAll('\u001b', '<ESC>'), /<ESC>\[3\dm/, 'no colour codes');
    t.match(out, /\[127\.0\.0\.1:\d+\]\s+echo hi/);
  });

  t.test('a pipe gets neither bar nor colour', async (t) => {
    const r = await runOutpost(args, { env: { ...env, NO_COLOR: '' } });
    t.equal(r.code, 0, r.stderr);
    t.notMatch(r.stderr, /hosts done/);
    t.notOk(r.stdout.includes('\u001b'), 'plain text on stdout');
  });
}
