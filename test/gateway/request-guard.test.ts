import t from 'tap';
import { dropped, DROPPED_HEADERS, DROPPED_PREFIXES, FRAMING_HEADERS, mayBeDropped, mayBeFraming, screenRequest, type Screened } from '../../gateway/request-guard.js';
import { HEAD_FIELDS, mayBeHeadField, parseHead } from '../../gateway/response-parser.js';
import { headerNames } from '../fixtures/header-names.js';
import { securityHeaders } from '../../gateway/security-headers.js';
import { responseHeaderList } from '../../gateway/forward.js';

const id = { sourceIp: '192.0.2.10', subject: 'CN=master', thumbprint: 'AB'.repeat(32), secret: undefined };
const screen = (method: string, headers: string[], max = 1000, target = '/v1/jobs') => screenRequest(method, target, headers, id, max);
const pairs = (s: Screened) => Object.fromEntries(Array.from({ length: s.headers.length / 2 }, (_, i) => [s.headers[2 * i]!.toLowerCase(), s.headers[2 * i + 1]]));

t.test('ok: a POST with a body keeps its end-to-end headers and gains ours', async (t) => {
  const s = screen('POST', ['Host', 'agent', 'Content-Type', 'application/json', 'Content-Length', '17', 'Accept', '*/*']) as Screened;
  t.same(pairs(s), {
    host: 'agent', 'content-type': 'application/json', accept: '*/*', 'content-length': '17',
    'x-forwarded-for': '192.0.2.10', 'x-forwarded-proto': 'https', 'x-outpost-client-subject': 'CN=master', 'x-outpost-client-thumbprint': 'AB'.repeat(32),
  });
  t.equal(s.contentLength, 17);
  t.equal(s.chunked, false);
});

t.test('ok: client-sent forwarding, identity, hop-by-hop and Connection-listed headers are dropped', async (t) => {
  const s = screen('GET', [
    'X-Forwarded-For', '6.6.6.6', 'x-forwarded-host', 'evil', 'Forwarded', 'for=6.6.6.6', 'X-Real-IP', '6.6.6.6',
    'X-Outpost-Client-Subject', 'CN=admin', 'x-outpost-secret', 'guess', 'Keep-Alive', 'timeout=5', 'Connection', 'keep-alive, X-Custom',
    'X-Custom', 'hop', 'TE', 'trailers', 'Trailer', 'X-Sig', 'Proxy-Authorization', 'Basic x', 'Cookie', 'a=b', 'Expect', '100-continue',
  ]) as Screened;
  const h = pairs(s);
  t.same(Object.keys(h).sort(), ['cookie', 'x-forwarded-for', 'x-forwarded-proto', 'x-outpost-client-subject', 'x-outpost-client-thumbprint']);
  t.equal(h['x-forwarded-for'], '192.0.2.10');
});

t.test('ok: the upstream secret is added for a TCP upstream', async (t) => {
  const s = screenRequest('GET', '/v1/status', [], { ...id, secret: 's3cret' }, 10) as Screened;
  t.equal(pairs(s)['x-outpost-secret'], 's3cret');
});

t.test('fail: refusals before proxying', async (t) => {
  const cases: [string, string, string[], number, RegExp][] = [
    ['DELETE', 'DELETE', [], 405, /method DELETE/],
    ['chunked DELETE', 'DELETE', ['Transfer-Encoding', 'chunked'], 405, /method DELETE/],
    ['PUT', 'PUT', ['Content-Length', '0'], 405, /PUT/],
    ['CONNECT', 'CONNECT', [], 405, /CONNECT/],
    ['Upgrade', 'GET', ['Upgrade', 'websocket'], 405, /upgrades/],
    ['Connection: upgrade', 'GET', ['Connection', 'Upgrade'], 405, /upgrades/],
    ['CL.TE', 'POST', ['Content-Length', '6', 'Transfer-Encoding', 'chunked'], 400, /together/],
    ['TE.CL', 'POST', ['Transfer-Encoding', 'chunked', 'Content-Length', '6'], 400, /together/],
    ['duplicate CL', 'POST', ['Content-Length', '5', 'content-length', '5'], 400, /more than one/],
    ['TE not chunked', 'POST', ['Transfer-Encoding', 'gzip, chunked'], 400, /not accepted/],
    ['TE split over two lines', 'POST', ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'identity'], 400, /not accepted/],
    ['CL not a number', 'POST', ['Content-Length', '5, 5'], 400, /not a number/],
    ['body on GET', 'GET', ['Content-Length', '3'], 400, /GET request must not carry a body/],
    ['chunked GET', 'GET', ['Transfer-Encoding', 'chunked'], 400, /GET/],
    ['too large', 'POST', ['Content-Length', '1001'], 413, /exceeds 1000/],
  ];
  for (const [name, method, headers, status, reason] of cases) {
    const r = screen(method, headers);
    t.match(r, { status, reason }, name);
  }
  t.notMatch(screen('GET', ['Content-Length', '0']), { status: Number }, 'ok: GET with Content-Length: 0');
  t.match(screen('GET', [], 1000, 'http://other.example/v1/jobs'), { status: 400, reason: /must be a path/ }, 'absolute-form target');
  t.match(screen('GET', [], 1000, '*'), { status: 400 }, 'asterisk-form target');
});

t.test('response headers: hop-by-hop and X-Powered-By removed, security headers win', async (t) => {
  const out = responseHeaderList(
    ['content-type', 'text/html', 'connection', 'keep-alive', 'transfer-encoding', 'chunked', 'x-powered-by', 'Express', 'content-security-policy', 'default-src *', 'set-cookie', 'a=1', 'set-cookie', 'b=2'],
    new Set(['content-security-policy']),
    ['content-security-policy', "default-src 'none'"],
  );
  t.same(out, ['content-security-policy', "default-src 'none'", 'content-type', 'text/html', 'set-cookie', 'a=1', 'set-cookie', 'b=2']);
});

t.test('ok: every header the Connection field names is dropped, whatever its first letter', async (t) => {
  const s = screen('GET', ['Host', 'agent', 'Connection', 'close, Accept, Via', 'Accept', '*/*', 'Via', '1.1 evil', 'Cookie', 'a=b']) as Screened;
  t.same(Object.keys(pairs(s)).sort(), ['cookie', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-outpost-client-subject', 'x-outpost-client-thumbprint']);
  for (const name of headerNames()) {
    const r = screen('GET', ['Connection', `keep-alive, ${name}`, name, 'v']);
    // Content-Length: v, Transfer-Encoding: v, Upgrade: v are refused outright.
    if ('code' in r) continue;
    // The client's value must be gone (the gateway may add its own header of the same name).
    if (r.headers.some((h, i) => i % 2 === 0 && h === name && r.headers[i + 1] === 'v')) t.fail(`${name} was named by Connection but forwarded`);
  }
});

t.test('ok: the first-letter fast paths agree with the exact checks for every header name', async (t) => {
  let checked = 0;
  for (const name of headerNames([...DROPPED_HEADERS, ...FRAMING_HEADERS, ...HEAD_FIELDS, ...DROPPED_PREFIXES.map((p) => `${p}anything`)])) {
    const lower = name.toLowerCase();
    if (dropped(lower, undefined) && !mayBeDropped(name)) t.fail(`request header ${name}: dropped, but the fast path lets it pass`);
    if ((FRAMING_HEADERS as readonly string[]).includes(lower) && !mayBeFraming(name)) t.fail(`request header ${name}: read for framing, but the fast path skips it`);
    if ((HEAD_FIELDS as readonly string[]).includes(lower) && !mayBeHeadField(name)) t.fail(`response header ${name}: read by the parser, but the fast path skips it`);
    checked++;
  }
  t.ok(checked > 5000, `${checked} names checked`);
});

t.test('response headers: those the agent\'s Connection field names are dropped too', async (t) => {
  const head = parseHead('HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal, Via\r\nX-Internal: secret\r\nVia: 1.1 agent\r\nContent-Type: text/plain\r\nContent-Length: 0', 'GET');
  t.same(head.connectionListed, ['keep-alive', 'x-internal', 'via']);
  t.same(responseHeaderList(head.headers, new Set(), [], head.connectionListed), ['content-type', 'text/plain', 'content-length', '0']);
});

t.test('response headers: the agent\'s stricter CSP passes alongside the gateway\'s', async (t) => {
  const security = securityHeaders();
  t.notOk(security.names.has('content-security-policy'));
  const out = responseHeaderList(['content-security-policy', "default-src 'none'; style-src 'self'", 'x-frame-options', 'ALLOWALL'], security.names, [...security.list]);
  const csp = out.filter((_, i) => i % 2 === 1 && out[i - 1] === 'content-security-policy');
  t.equal(csp.length, 2, 'both policies are sent (a browser enforces each)');
  t.ok(csp.includes("default-src 'none'; style-src 'self'"), 'the agent\'s policy is kept');
  t.equal(out.filter((h) => h === 'x-frame-options').length, security.names.has('x-frame-options') ? 1 : 0, 'other security headers still replace the agent\'s');
});

t.test('Outpost-Api-Version passes both ways: the master\'s to the agent, the agent\'s to the master', async (t) => {
  const s = screen('POST', ['Outpost-Api-Version', '1', 'Content-Length', '2']) as Screened;
  t.equal(pairs(s)['outpost-api-version'], '1', 'not an x-outpost- header, so not dropped');
  t.same(responseHeaderList(['content-type', 'application/json', 'outpost-api-version', '1'], securityHeaders().names, []), ['content-type', 'application/json', 'outpost-api-version', '1']);
});
