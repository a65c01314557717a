/**
 * The status page as people reach it: through the real gateway with a GET-only (monitoring) client
 * certificate, in headless Chromium, the gateway's certificate verified against our CA. The agent is real
 * and so are its jobs. Writes test/fixtures/generated/status-page-gateway.png.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromiumSkipReason } from '../fixtures/chromium.js';
import { repoRoot, runOutpost } from '../fixtures/cli.js';
import { parseRunJson } from '../fixtures/ndjson.js';
import { startStack } from '../fixtures/stack.js';

const skip = chromiumSkipReason();
if (skip) {
  t.test(`status page through the gateway: ${skip}`, { skip }, () => undefined);
} else {
  const stack = await startStack(t, { host: '127.0.0.2' });
  const run = await runOutpost(['job', 'run', '--json', '--agent', stack.url, '--description', 'nightly report', '--', 'sh', '-c', 'echo "<i>report</i> done"; exit 2'], { env: stack.env });
  const jobId = String(parseRunJson(run.stdout).hosts[0]?.jobId ?? '');

  t.test('a GET-only client sees the jobs and a job\'s output in Chromium', async (t) => {
    await mkdir(join(repoRoot, 'test/fixtures/generated'), { recursive: true });
    const screenshot = join(repoRoot, 'test/fixtures/generated/status-page-gateway.png');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/fixtures/browse.ts'),
      JSON.stringify({ url: stack.url, cert: stack.monitor.certPath, key: stack.monitor.keyPath, jobId, screenshot })], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.pki.caCertPath },
      cwd: repoRoot,
      timeout: 90_000,
    });
    const seen = JSON.parse(stdout) as Record<string, unknown> & { rows: string[]; violations: string[] };
    t.equal(seen.status, 200);
    t.match(seen.csp, /default-src 'none'/);
    t.match(seen.header, /version\s+\d+\.\d+\.\d+.*running\s+0.*capacity\s+8/s, 'agent facts from /v1/status');
    t.ok(seen.rows.some((r) => r.includes(jobId) && /failed/.test(r) && /nightly report/.test(r)), 'the job is listed with its state and description');
    t.match(seen.jobUrl, new RegExp(`/ui/jobs/${jobId}$`));
    t.equal(seen.output, '<i>report</i> done\n', 'output shown as text');
    t.match(seen.facts, /Exit code\s+2/);
    t.equal(seen.styled, 'solid', 'stylesheet served through the gateway');
    t.same(seen.violations, []);
    t.ok((await stat(screenshot)).size > 5000, 'screenshot written');
  });

  t.test('the same GET-only client is refused a POST', async (t) => {
    const r = await runOutpost(['job', 'cancel', jobId, '--agent', stack.url], { env: stack.monitorEnv });
    t.equal(r.code, 1);
    t.match(r.stderr, /MASTER_ACCESS_DENIED/);
  });
}
