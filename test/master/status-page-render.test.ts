import t from 'tap';
import { esc, duration, time, stateBadge, exitText, statusFacts, jobListPage, jobPageHead, jobPageTail, type PageJob } from '../../agent/status-page/render.js';

const job: PageJob = {
  id: 'abc-1', state: 'failed', createdAt: '2026-11-23T12:00:00.000Z', startedAt: '2026-11-23T12:00:01.000Z',
  endedAt: '2026-11-23T12:01:06.500Z', exitCode: 4, signal: null, description: '<img src=x onerror=alert(1)>',
  submittedBy: { subject: 'CN=master', address: '127.0.0.2' },
};

t.test('escaping covers every HTML metacharacter', async (t) => {
  t.equal(esc(`<a href="x" title='y'>&</a>`), '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  t.equal(esc(null), '');
  t.equal(stateBadge('<x>'), '<span class="state state-unknown">&#60;x&#62;</span>', 'unknown states get no class of their own');
});

t.test('durations, times and exit text', async (t) => {
  t.equal(duration(job, 0), '1 min 6 s');
  t.equal(duration({ startedAt: '2026-11-23T12:00:00.000Z', endedAt: null }, Date.parse('2026-11-23T12:00:00.250Z')), '250 ms', 'running jobs count to now');
  t.equal(duration({ startedAt: null, endedAt: null }, 0), '');
  t.equal(time('2026-11-23T12:00:00.123Z'), '<time datetime="2026-11-23T12:00:00.123Z">2026-11-23 12:00:00Z</time>');
  t.equal(exitText(job), '4');
  t.equal(exitText({ exitCode: null, signal: 'SIGKILL' }), 'SIGKILL');
});

t.test('agent facts accept the agent\'s nested status shape', async (t) => {
  const html = statusFacts({ version: '1.2.3', uptimeSeconds: 90, jobs: { running: 2, queued: 1 }, capacity: { maxConcurrentJobs: 16, queueLimit: 1000 } });
  t.match(html, /version <b>1\.2\.3<\/b>/);
  t.match(html, /running <b>2<\/b>.*queued <b>1<\/b>.*capacity <b>16<\/b>/);
  t.notMatch(html, /object Object/);
  t.match(statusFacts({ disk: { freeBytes: 100 * 1048576, floorBytes: 256 * 1048576, ok: false } }), /disk free <b>100 MiB — below minFreeBytes: new jobs refused<\/b>/);
  t.match(statusFacts({ disk: { freeBytes: 300 * 1048576, floorBytes: 256 * 1048576, ok: true } }), /disk free <b>300 MiB<\/b>/);
});

t.test('pages: no script, relative links, escaped job data', async (t) => {
  const list = jobListPage({ status: {}, jobs: [job], filter: 'failed', now: 0 });
  t.notMatch(list, /<script|<img|style=/i);
  t.match(list, /&#60;img src=x onerror=alert\(1\)&#62;/, 'the description is text');
  t.match(list, /href="ui\/jobs\/abc-1"/);
  t.match(list, /<meta http-equiv="refresh" content="5">/);
  t.match(list, /class="on" aria-current="page">failed/);
  const head = jobPageHead(job, { now: 0, streaming: true, truncatedFrom: 0 });
  t.match(head, /<link rel="stylesheet" href="\.\.\/\.\.\/ui\/style\.css">/);
  t.match(head, /Submitted by<\/dt><dd>CN=master from 127\.0\.0\.2/);
  t.match(head, /live: this page keeps loading/);
  t.ok(head.endsWith('<pre class="output" id="output">'), 'cut where the output goes');
  t.match(jobPageHead(job, { now: 0, streaming: false, truncatedFrom: 10 }), /Showing output from byte 10/);
  t.match(jobPageTail(job, true), /Job ended: .*failed.* exit code <b>4<\/b>/);
  t.notMatch(jobPageHead(job, { now: 0, streaming: false, truncatedFrom: 0 }), /<dt>Output<\/dt>/);
  t.match(jobPageHead({ ...job, outputTruncated: true }, { now: 0, streaming: false, truncatedFrom: 0 }), /<dt>Output<\/dt><dd>cut: /);
  t.notMatch(jobPageTail(job, false), /Job ended/, 'no footer when nothing was streamed');
});
