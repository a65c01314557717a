/**
 * The status page in a real browser: headless Chromium renders the job list and a job's live output from
 * a real HTTP server (the page handler the agent mounts), with the strict CSP in force. Writes a
 * screenshot to test/fixtures/generated/status-page.png. The same page through the real gateway is
 * tested in status-page-gateway.test.ts.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFile, mkdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createStatusPage, type StatusPageJob } from '../../agent/status-page.js';
import { chromiumSkipReason, launchChromium } from '../fixtures/chromium.js';
import { repoRoot, tempDir } from '../fixtures/cli.js';

const skip = chromiumSkipReason();
if (skip) {
  t.test(`status page in Chromium: ${skip}`, { skip }, () => undefined);
} else {
  const dir = await tempDir(t, 'outpost-status-page-');
  const now = Date.now();
  const iso = (ago: number): string => new Date(now - ago).toISOString();
  const jobs: StatusPageJob[] = [
    { id: 'mhz1-live', state: 'running', createdAt: iso(4000), startedAt: iso(3900), endedAt: null, exitCode: null, description: 'tail the deploy log' },
    { id: 'mhz0-fail', state: 'failed', createdAt: iso(60_000), startedAt: iso(59_000), endedAt: iso(52_000), exitCode: 4, description: 'sh -c "exit 4"' },
    { id: 'mhyz-html', state: 'succeeded', createdAt: iso(120_000), startedAt: iso(119_000), endedAt: iso(118_500), exitCode: 0, description: '<b>not bold</b>' },
  ];
  for (const j of jobs) await writeFile(join(dir, `${j.id}.out`), '');
  await writeFile(join(dir, 'mhyz-html.out'), '<script>window.pwned = 1</script>\nline two ✓\n');
  await writeFile(join(dir, 'mhz0-fail.out'), 'starting\nboom\n');
  await writeFile(join(dir, 'mhz1-live.out'), 'first line\n');
  const page = createStatusPage({
    status: () => ({ version: '0.1.0', uptimeSeconds: 3725, running: 1, queued: 0, capacity: 16 }),
    jobs: (limit) => jobs.slice(0, limit),
    job: (id) => jobs.find((j) => j.id === id),
    outputPath: (id) => join(dir, `${id}.out`),
  });
  const server = createServer((req, res) => {
    page(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"AGENT_NOT_FOUND","message":"no endpoint"}}');
      }
    }, (err: unknown) => { res.destroy(err as Error); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium(t);

  t.test('the job list renders, escaped, with no script and a strict CSP', async (t) => {
    const tab = await browser.newPage();
    const violations: string[] = [];
    tab.on('console', (m) => { if (/Content Security Policy|Refused/i.test(m.text())) violations.push(m.text()); });
    const res = await tab.goto(`${base}/`);
    t.equal(res?.status(), 200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    t.match(csp, /default-src 'none'/);
    t.notMatch(csp, /unsafe-inline/);
    t.equal(res?.headers()['x-content-type-options'], 'nosniff');
    t.equal(await tab.locator('tbody tr').count(), 3);
    t.equal(await tab.locator('tbody tr').nth(1).locator('td').nth(2).innerText(), '4', 'exit code shown');
    t.equal(await tab.locator('tbody tr').nth(2).locator('td').nth(5).innerText(), '<b>not bold</b>', 'descriptions are text, not markup');
    t.equal(await tab.locator('script').count(), 0);
    t.match(await tab.locator('header').innerText(), /up\s+1 h 2 min/);
    const color = await tab.locator('.state-failed').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderTopStyle: string } }).getComputedStyle(el).borderTopStyle);
    t.equal(color, 'solid', 'the stylesheet loaded under the CSP');
    await mkdir(join(repoRoot, 'test/fixtures/generated'), { recursive: true });
    const shot = join(repoRoot, 'test/fixtures/generated/status-page.png');
    await tab.screenshot({ path: shot, fullPage: true });
    t.ok((await stat(shot)).size > 5000, `screenshot written to ${shot}`);
    t.same(violations, [], 'no CSP violations');
    const filtered = await tab.goto(`${base}/?state=failed`);
    t.equal(filtered?.status(), 200);
    t.equal(await tab.locator('tbody tr').count(), 1);
  });

  t.test('a job page shows output as text, never as markup', async (t) => {
    const tab = await browser.newPage();
    await tab.goto(`${base}/`);
    await tab.click('text=mhyz-html');
    t.match(tab.url(), /\/ui\/jobs\/mhyz-html$/);
    t.equal(await tab.locator('#output').innerText(), '<script>window.pwned = 1</script>\nline two ✓\n');
    t.equal(await tab.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned), undefined, 'job output did not run');
    await tab.screenshot({ path: join(repoRoot, 'test/fixtures/generated/status-page-job.png'), fullPage: true });
    const raw = await tab.goto(`${base}/ui/jobs/mhyz-html/output.txt`);
    t.match(raw?.headers()['content-type'], /^text\/plain/);
    const missing = await tab.goto(`${base}/ui/jobs/nope-0`);
    t.equal(missing?.status(), 404);
  });

  t.test('a running job\'s output arrives live, and the page ends with the final state', async (t) => {
    const tab = await browser.newPage();
    await tab.goto(`${base}/ui/jobs/mhz1-live`, { waitUntil: 'commit' });
    await tab.locator('#output', { hasText: 'first line' }).waitFor();
    await appendFile(join(dir, 'mhz1-live.out'), 'second line\n');
    await tab.locator('#output', { hasText: 'second line' }).waitFor();
    const live = jobs[0] as { state: string; endedAt: string | null; exitCode: number | null };
    await appendFile(join(dir, 'mhz1-live.out'), 'last words\n');
    live.state = 'succeeded';
    live.exitCode = 0;
    live.endedAt = new Date().toISOString();
    await tab.locator('.ended', { hasText: 'succeeded' }).waitFor();
    t.equal(await tab.locator('#output').innerText(), 'first line\nsecond line\nlast words\n', 'every byte once, in order');
    t.match(await tab.locator('.ended').innerText(), /Job ended: succeeded exit code 0/);
  });

  t.test('only GET and HEAD are answered', async (t) => {
    const post = await fetch(`${base}/`, { method: 'POST' });
    t.equal(post.status, 404, 'a POST falls through to the API, which refuses it');
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    t.equal(head.status, 200);
  });
}
