import t from 'tap';
import { ipAllowlist } from '../../gateway/checks/ip-allowlist.js';
import { canonicalThumbprint, clientCert, subjectPairsOf } from '../../gateway/checks/client-cert.js';
import { methodPolicy } from '../../gateway/checks/method-policy.js';
import { parseAddress } from '../../gateway/checks/cidr.js';
import type { ConnectionFacts } from '../../gateway/checks/check.js';

const TP = 'B0AF7184C0F1C5E63662167AC5D4B01983BEE4BC949BE1C2A3385C296DC32CD5';
const facts = (over: Partial<ConnectionFacts> = {}): ConnectionFacts => ({
  source: parseAddress('127.0.0.2'), thumbprint: TP, subjectPairs: ['CN=master', 'O=Example'], ...over,
});

t.test('ipAllowlist', async (t) => {
  const check = ipAllowlist(['127.0.0.2/32', '2001:db8::/64']);
  t.equal(check.run(facts()), undefined, 'ok: listed');
  t.equal(check.run(facts({ source: parseAddress('::ffff:127.0.0.2') })), undefined, 'ok: IPv4-mapped');
  t.equal(check.run(facts({ source: parseAddress('127.0.0.3') })), 'IP_NOT_ALLOWED', 'fail: unlisted');
  t.equal(check.run(facts({ source: undefined })), 'IP_NOT_ALLOWED', 'fail: no address');
  t.throws(() => ipAllowlist(['10.0.0.0/8', 'nope']), /^sources\[1\]: "nope"/);
});

t.test('clientCert', async (t) => {
  t.equal(clientCert(undefined).run(facts()), undefined, 'ok: any verified certificate when nothing is pinned');
  t.equal(clientCert(undefined).run(facts({ thumbprint: undefined })), 'CLIENT_NOT_ALLOWED', 'fail: no certificate');
  t.equal(clientCert(undefined, false).run(facts({ thumbprint: undefined })), undefined, 'ok: requireClientCert false and nothing pinned');
  const colon = TP.toLowerCase().match(/../g)!.join(':');
  t.equal(clientCert({ thumbprints: [colon] }).run(facts()), undefined, 'ok: pinned thumbprint, colons and lower case accepted');
  t.equal(clientCert({ thumbprints: ['A'.repeat(64)] }).run(facts()), 'CLIENT_NOT_ALLOWED', 'fail: other thumbprint');
  t.equal(clientCert({ subjects: ['CN=master'] }).run(facts()), undefined, 'ok: subject attributes are a subset');
  t.equal(clientCert({ subjects: ['/O=Example/CN=master'] }).run(facts()), undefined, 'ok: slash form, any order');
  t.equal(clientCert({ subjects: ['CN=master, O=Other'] }).run(facts()), 'CLIENT_NOT_ALLOWED', 'fail: one attribute differs');
  t.equal(clientCert({ subjects: ['CN=mast'] }).run(facts()), 'CLIENT_NOT_ALLOWED', 'fail: no prefix matching');
  t.equal(clientCert({ subjects: ['cn=master'] }).run(facts()), undefined, 'ok: attribute names are case-insensitive');
  t.equal(clientCert({ subjects: ['CN=master'] }).run(facts({ thumbprint: undefined, subjectPairs: undefined })), 'CLIENT_NOT_ALLOWED');
  t.throws(() => clientCert({ thumbprints: ['abc'] }), /clients\.thumbprints\[0\]: "abc" is not a SHA-256 thumbprint/);
  t.throws(() => clientCert({ subjects: ['master'] }), /clients\.subjects\[0\]: .*not KEY=value/);
  // every() over no attributes is true: an empty pinned subject would let any certificate through.
  for (const empty of ['', '/', ' , ']) {
    t.throws(() => clientCert({ subjects: ['CN=master', empty] }), /^clients\.subjects\[1\]: empty subject$/, `fail: ${JSON.stringify(empty)} refused`);
  }
  t.equal(clientCert({ subjects: ['CN=master'] }).run(facts({ subjectPairs: undefined })), 'CLIENT_NOT_ALLOWED',
    'fail: a certificate whose subject could not be read matches no pinned subject');
  t.equal(canonicalThumbprint(` ${colon} `), TP);
  t.same(subjectPairsOf('CN=a, OU=b'), ['CN=a', 'OU=b']);
});

t.test('methodPolicy', async (t) => {
  const monitor = methodPolicy(['GET']);
  t.equal(monitor.run('GET'), undefined);
  t.equal(monitor.run('POST'), 'METHOD_NOT_ALLOWED');
  const master = methodPolicy(['GET', 'POST']);
  t.equal(master.run('POST'), undefined);
  t.equal(master.run('DELETE'), 'METHOD_NOT_ALLOWED', 'never anything beyond GET and POST');
  t.equal(master.run('get'), 'METHOD_NOT_ALLOWED', 'methods are case-sensitive (RFC 9110 §9.1)');
});
