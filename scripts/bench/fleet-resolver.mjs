// Loaded into bench:fleet's clients with `node --import`: answers the simulated fleet's host names from the
// hosts file named by OUTPOST_BENCH_HOSTS (`ADDRESS NAME` lines, /etc/hosts' format) and sends every other
// name to the system resolver. The fleet's hosts get names — so each gateway can present one wildcard
// certificate, as small as a production host's, instead of one listing every address it answers for —
// while the name service stays out of the measurement, as for the ssh baselines, which get addresses.
// Node's net.connect reads dns.lookup when it connects, so replacing the property is enough.
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.OUTPOST_BENCH_HOSTS;
if (!file) throw new Error('fleet-resolver: OUTPOST_BENCH_HOSTS names no hosts file');
const table = new Map();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const [address, ...names] = line.trim().split(/\s+/);
  if (address && !address.startsWith('#')) for (const name of names) table.set(name.toLowerCase(), address);
}

const system = dns.lookup;
dns.lookup = function lookup(host, options, callback) {
  if (typeof options === 'function') return lookup(host, {}, options);
  const address = table.get(String(host).toLowerCase());
  if (address === undefined) return system.call(dns, host, options, callback);
  const family = address.includes(':') ? 6 : 4;
  if (typeof options === 'object' && options?.all) process.nextTick(callback, null, [{ address, family }]);
  else process.nextTick(callback, null, address, family);
};
