import t from 'tap';
import { cidrContains, formatCidr, parseAddress, parseCidr } from '../../gateway/checks/cidr.js';

const contains = (cidr: string, addr: string) => cidrContains(parseCidr(cidr), parseAddress(addr)!);

t.test('ok: IPv4 networks and hosts', async (t) => {
  t.ok(contains('192.0.2.0/24', '192.0.2.77'));
  t.notOk(contains('192.0.2.0/24', '192.0.3.1'));
  t.ok(contains('192.0.2.10', '192.0.2.10'), 'a bare address is a /32');
  t.notOk(contains('192.0.2.10/32', '192.0.2.11'));
  t.ok(contains('0.0.0.0/0', '203.0.113.5'));
  t.ok(contains('127.0.0.0/8', '127.255.0.1'));
});

t.test('ok: IPv6 networks, compressed forms and zone ids', async (t) => {
  t.ok(contains('2001:db8::/64', '2001:db8::1'));
  t.ok(contains('2001:db8::/64', '2001:0db8:0000:0000:ffff:0:0:1'));
  t.notOk(contains('2001:db8::/64', '2001:db8:0:1::1'));
  t.ok(contains('::1/128', '::1'));
  t.ok(contains('fe80::/10', 'fe80::1%eth0'));
  t.ok(contains('::/0', '2001:db8::5'));
});

t.test('ok: IPv4-mapped IPv6 is the IPv4 address it carries', async (t) => {
  t.ok(contains('192.0.2.0/24', '::ffff:192.0.2.9'), 'a dual-stack socket reports IPv4 clients like this');
  t.ok(contains('::ffff:192.0.2.0/120', '192.0.2.9'), 'a mapped network matches plain IPv4');
  t.equal(formatCidr(parseCidr('::ffff:10.0.0.0/104')), '10.0.0.0/8');
  t.equal(formatCidr(parseCidr('2001:0db8:0000:0000::/64')), '2001:db8::/64');
  t.equal(formatCidr(parseCidr('::/0')), '::/0');
  t.equal(formatCidr(parseCidr('2001:db8:0:1:0:0:0:1')), '2001:db8:0:1::1/128');
  t.notOk(contains('::/0', '::ffff:192.0.2.9'), 'an IPv6 rule does not swallow IPv4 clients');
  t.same(parseAddress('::ffff:7f00:1'), { family: 4, words: [0, 0, 0, 0x7f000001] }, 'hex form of a mapped address');
});

t.test('ok: bracketed addresses, as in a URL or a Host header, are the address inside', async (t) => {
  t.same(parseAddress('[2001:db8::1]'), { family: 6, words: [0x20010db8, 0, 0, 1] });
  t.same(parseAddress('[192.0.2.1]'), { family: 4, words: [0, 0, 0, 0xc0000201] });
  t.ok(contains('2001:db8::/64', '[2001:db8::1]'));
  t.equal(parseAddress('[2001:db8::1'), undefined, 'an unclosed bracket is not an address');
  t.equal(parseAddress('2001:db8::1]'), undefined);
});

t.test('ok: canonical text without a run of zero groups to compress', async (t) => {
  t.equal(formatCidr(parseCidr('2001:db8:1:2:3:4:5:6')), '2001:db8:1:2:3:4:5:6/128');
  t.equal(formatCidr(parseCidr('2001:db8:0:1:2:3:4:5')), '2001:db8:0:1:2:3:4:5/128', 'a single zero group stays (RFC 5952 4.2.2)');
});

t.test('ok: families never match each other', async (t) => {
  t.notOk(contains('0.0.0.0/0', '2001:db8::1'));
  t.notOk(contains('::/0', '10.0.0.1'));
});

t.test('fail: bad networks say what is wrong', async (t) => {
  t.throws(() => parseCidr('10.0.0.300/8'), /not an IPv4 or IPv6 address/);
  t.throws(() => parseCidr('10.0.0.0/33'), /prefix length exceeds 32/);
  t.throws(() => parseCidr('2001:db8::/129'), /exceeds 128/);
  t.throws(() => parseCidr('10.0.0.1/8'), /host bits set; did you mean 10\.0\.0\.0\/8/);
  t.throws(() => parseCidr('10.0.0.0/x'), /must be a number/);
  t.throws(() => parseCidr('::ffff:10.0.0.0/64'), /\/96 or longer/);
  t.throws(() => parseCidr('master'), /not an IPv4 or IPv6/);
  t.equal(parseAddress('not-an-ip'), undefined);
});
