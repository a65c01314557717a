import t from 'tap';
import { parseSan, parseSans, isDnsName, isValidName } from '../../ca/profiles.js';
import { normalizeSerial, randomSerialHex } from '../../ca/serial.js';
import { parseKeySpec } from '../../ca/keys.js';

t.test('SAN parsing', async (t) => {
  t.same(parseSan('dns:Agent-01.example.com'), { type: 'dns', value: 'agent-01.example.com' });
  t.same(parseSan('ip:127.0.0.1'), { type: 'ip', value: '127.0.0.1' });
  t.same(parseSan('ip:::1'), { type: 'ip', value: '::1' });
  t.same(parseSan('192.0.2.7'), { type: 'ip', value: '192.0.2.7' });
  t.same(parseSan('localhost'), { type: 'dns', value: 'localhost' });
  t.same(parseSan('dns:*.example.com'), { type: 'dns', value: '*.example.com' });
  for (const bad of ['ip:999.1.1.1', 'dns:-bad.example', 'dns:a..b', 'dns:has space', 'uri:http://x', 'dns:*.com']) {
    t.equal(parseSan(bad), undefined, bad);
  }
  t.same(parseSans(['dns:a,ip:127.0.0.1', 'dns:a', 'ip:nope']), { sans: [{ type: 'dns', value: 'a' }, { type: 'ip', value: '127.0.0.1' }], invalid: ['ip:nope'] });
  t.notOk(isDnsName('x'.repeat(64)));
});

t.test('names, serials and key specs', async (t) => {
  t.ok(isValidName('master.example.com'));
  t.ok(isValidName('Agent 01'));
  t.notOk(isValidName(''));
  t.notOk(isValidName('a/b'));
  t.notOk(isValidName('x'.repeat(65)));
  t.notOk(isValidName('CN=evil,O=x'));
  const serials = new Set(Array.from({ length: 1000 }, randomSerialHex));
  t.equal(serials.size, 1000);
  const bad = [...serials].filter((s) => s.length !== 32 || Number.parseInt(s.slice(0, 2), 16) < 0x40 || Number.parseInt(s.slice(0, 2), 16) >= 0x80);
  t.same(bad, [], 'every serial is positive and 16 octets long');
  t.equal(normalizeSerial('00:4a:bc'), '4ABC');
  t.equal(normalizeSerial('0x0abc'), '0ABC');
  t.equal(normalizeSerial('zz'), undefined);
  t.same(parseKeySpec('rsa-3072'), { type: 'rsa', bits: 3072 });
  t.same(parseKeySpec('2048'), { type: 'rsa', bits: 2048 });
  t.same(parseKeySpec('EC-P256'), { type: 'ec', name: 'ec-p256' });
  t.same(parseKeySpec('ec-p384'), { type: 'ec', name: 'ec-p384' });
  t.equal(parseKeySpec('rsa-1024'), undefined);
  t.equal(parseKeySpec('ec-256'), undefined);
  t.equal(parseKeySpec('ec-p521'), undefined, 'P-521 is accepted on import, not generated');
});
