import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../fixtures/cli.js';
import {
  createHostKeyPolicy,
  fingerprintOf,
  fingerprintPolicy,
  keyTypeOf,
  knownHostsPolicy,
  parseFingerprint,
} from '../../agent/executors/ssh/host-key.js';

const run = promisify(execFile);

async function keyPair(dir: string, name: string, type = 'ed25519'): Promise<{ blob: Buffer; line: string; fingerprint: string }> {
  const path = join(dir, name);
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', path]);
  const line = (await readFile(`${path}.pub`, 'utf8')).trim();
  const { stdout } = await run('ssh-keygen', ['-lf', `${path}.pub`]);
  return { blob: Buffer.from(line.split(' ')[1] ?? '', 'base64'), line: line.split(' ').slice(0, 2).join(' '), fingerprint: stdout.trim() };
}

t.test('fingerprints are computed exactly as ssh-keygen -lf prints them', async (t) => {
  const dir = await tempDir(t);
  const ed = await keyPair(dir, 'a');
  const rsa = await keyPair(dir, 'b', 'rsa');
  t.equal(fingerprintOf(ed.blob), ed.fingerprint.split(' ')[1]);
  t.equal(fingerprintOf(rsa.blob), rsa.fingerprint.split(' ')[1]);
  t.equal(keyTypeOf(ed.blob), 'ssh-ed25519');
  t.equal(keyTypeOf(rsa.blob), 'ssh-rsa');
});

t.test('a pinned fingerprint accepts its key only and reports others as a mismatch', async (t) => {
  const dir = await tempDir(t);
  const a = await keyPair(dir, 'a');
  const b = await keyPair(dir, 'b');
  const policy = fingerprintPolicy(a.fingerprint.split(' ')[1] ?? '');
  t.equal(policy.check(a.blob), 'ok');
  t.equal(policy.check(b.blob), 'mismatch');
  // The whole ssh-keygen line is accepted too and its key type is asked for first.
  const full = fingerprintPolicy(a.fingerprint);
  t.equal(full.check(a.blob), 'ok');
  t.equal(full.algorithms[0], 'ssh-ed25519');
  t.same(parseFingerprint('SHA256:' + 'A'.repeat(43) + ' (RSA)').keyType, 'ssh-rsa');
});

t.test('malformed or missing pins are refused when the executor is configured', async (t) => {
  for (const bad of ['', 'MD5:aa:bb', 'SHA256:short', 'sha256:' + 'A'.repeat(43)]) {
    t.throws(() => fingerprintPolicy(bad), { code: 'AGENT_SSH_CONFIG_INVALID' }, JSON.stringify(bad));
  }
  const base = { name: 'db01', remoteHostName: 'db01', port: 22 };
  t.throws(() => createHostKeyPolicy(base), { code: 'AGENT_SSH_CONFIG_INVALID', message: /no host key pin/ });
  t.throws(() => createHostKeyPolicy({ ...base, hostKey: 'SHA256:' + 'A'.repeat(43), knownHostsFile: '/x' }), { code: 'AGENT_SSH_CONFIG_INVALID', message: /not both/ });
  t.throws(() => createHostKeyPolicy({ ...base, knownHostsFile: '/nonexistent/known_hosts' }), { code: 'AGENT_SSH_CONFIG_INVALID' });
});

t.test('known_hosts: plain, [host]:port, hashed, wildcard, negated and revoked entries', async (t) => {
  const dir = await tempDir(t);
  const a = await keyPair(dir, 'a');
  const b = await keyPair(dir, 'b');
  const c = await keyPair(dir, 'c');
  const file = join(dir, 'known_hosts');
  await writeFile(
    file,
    [
      '# comment',
      `db01.example.com ${a.line}`,
      `[db02.example.com]:2222 ${b.line}`,
      `*.wild.example.com,!bad.wild.example.com ${c.line}`,
      `@revoked db03.example.com ${a.line}`,
      `db03.example.com ${a.line}`,
      '',
    ].join('\n'),
  );
  t.equal(knownHostsPolicy(file, 'db01.example.com', 22).check(a.blob), 'ok');
  t.equal(knownHostsPolicy(file, 'db01.example.com', 22).check(b.blob), 'mismatch', 'another key for a known host');
  t.equal(knownHostsPolicy(file, 'db01.example.com', 2200).check(a.blob), 'unknown', 'ports other than 22 use [host]:port');
  t.equal(knownHostsPolicy(file, 'db02.example.com', 2222).check(b.blob), 'ok');
  t.equal(knownHostsPolicy(file, 'x.wild.example.com', 22).check(c.blob), 'ok');
  t.equal(knownHostsPolicy(file, 'bad.wild.example.com', 22).check(c.blob), 'unknown', 'negated pattern');
  t.equal(knownHostsPolicy(file, 'db03.example.com', 22).check(a.blob), 'mismatch', 'a revoked key is refused even if also listed');
  t.equal(knownHostsPolicy(file, 'elsewhere', 22).check(a.blob), 'unknown');

  // Hashed entries as `ssh-keygen -H` writes them.
  const hashed = join(dir, 'hashed');
  await writeFile(hashed, `[127.0.0.1]:2022 ${b.line}\n`);
  await run('ssh-keygen', ['-H', '-f', hashed]);
  t.match(await readFile(hashed, 'utf8'), /^\|1\|/);
  t.equal(knownHostsPolicy(hashed, '127.0.0.1', 2022).check(b.blob), 'ok');
  t.equal(knownHostsPolicy(hashed, '127.0.0.1', 2022).check(a.blob), 'mismatch');
  t.equal(knownHostsPolicy(hashed, '127.0.0.2', 2022).check(b.blob), 'unknown');
});
