/**
 * The shipped config/logrotate/outpost, run by the real logrotate against a running front — the gateway,
 * and an nginx front writing the same file: rotated twice (the second time compressing the first
 * rotation, delaycompress), the new file created with the owner and mode the file asks for, the front told
 * through the postrotate commands — a `systemctl` stand-in on PATH that records its arguments and sends the
 * SIGUSR1 systemd would to the unit that runs, and fails for the other — and every request's audit line
 * found once across audit.log, audit.log.1 and audit.log.2.gz.
 */
import t from 'tap';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { isRoot, repoRoot } from '../fixtures/cli.js';
import { createBed, FRONTS, frontSkip, MASTER_IP, startFront } from '../fixtures/gateway.js';
import { call, run } from '../fixtures/gateway-client.js';
import { waitFor } from '../fixtures/wait.js';

const logrotate = ['/usr/sbin/logrotate', '/usr/bin/logrotate'].find((p) => existsSync(p));
const skip = !isRoot ? 'needs root (logrotate switches to the file\'s user)' : !logrotate ? 'logrotate is not installed (scripts/test installs it when run as root)' : false;

const idsOf = (text: string): number[] => [...text.matchAll(/"path":"\/echo\?id=(\d+)"/g)].map((m) => Number(m[1]));

for (const kind of FRONTS) {
  t.test(`logrotate with the shipped file rotates the audit log under a running ${kind}`, { skip: skip || frontSkip(kind) }, async (t) => {
    const bed = await createBed(t);
    const front = await startFront(t, bed, kind);
    const ca = readFileSync(bed.pki.caCertPath, 'utf8');
    const logDir = kind === 'gateway' ? bed.dir : join(bed.dir, 'nginx');
    const auditPath = join(logDir, 'audit.log');
    const unit = kind === 'gateway' ? 'outpost-gateway.service' : 'nginx.service';

    // The shipped file, with this test's directory and user; the postrotate lines are left as shipped.
    const shipped = readFileSync(join(repoRoot, 'config/logrotate/outpost'), 'utf8');
    const conf = join(bed.dir, 'logrotate.conf');
    await writeFile(conf, shipped.replaceAll('@LOG@', logDir).replaceAll('@GW_USER@', 'root'));
    const bin = join(bed.dir, 'bin');
    const recorded = join(bed.dir, 'systemctl.args');
    await mkdir(bin);
    await writeFile(join(bin, 'systemctl'), [
      '#!/bin/sh',
      `echo "$*" >> '${recorded}'`,
      `case "$*" in *' ${unit}') kill -USR1 ${front.pid} ;; *) exit 1 ;; esac`,
      '',
    ].join('\n'));
    await chmod(join(bin, 'systemctl'), 0o755);
    // What the front says when it has reopened: the gateway's log line, nginx's error.log (master and worker).
    const reopenings = async (): Promise<number> => kind === 'gateway'
      ? (front.output().match(/"message":"reopened the audit log"/g) ?? []).length
      : ((await readFile(join(logDir, 'error.log'), 'utf8').catch(() => '')).match(/reopening logs/g) ?? []).length;
    const rotate = async (): Promise<void> => {
      const before = await reopenings();
      const r = await run('env', [`PATH=${bin}:${process.env.PATH ?? ''}`, logrotate!, '--force', '--state', join(bed.dir, 'logrotate.state'), conf]);
      t.equal(r.code, 0, r.stderr || 'logrotate ran');
      await waitFor(async () => (await reopenings()) >= before + (kind === 'gateway' ? 1 : 2), 15_000, `${kind} to reopen the audit log`, 25);
    };

    let next = 0;
    const requests = async (n: number): Promise<void> => {
      const ids = Array.from({ length: n }, () => next++);
      const statuses: (number | undefined)[] = [];
      for (let i = 0; i < ids.length; i += 5) {
        const replies = await Promise.all(ids.slice(i, i + 5).map((id) => call({ port: front.port, ca, from: MASTER_IP, cert: bed.certs.master, path: `/echo?id=${id}` })));
        statuses.push(...replies.map((r) => r.status));
      }
      t.same(statuses.filter((s) => s !== 200), [], `requests ${ids[0]}–${next - 1} answered`);
      // The gateway writes lines within 20 ms; logrotate's notifempty must see them.
      await waitFor(async () => idsOf(await readFile(auditPath, 'utf8').catch(() => '')).includes(next - 1), 15_000, 'the last line', 25);
    };

    await requests(40);
    await rotate();
    await requests(40);
    await rotate();
    await requests(40);
    process.kill(front.pid, 'SIGTERM');
    t.same(await front.exited, { code: 0, signal: null }, `the ${kind} stopped cleanly`);

    const calls = ['kill --kill-who=main --signal=SIGUSR1 outpost-gateway.service', 'kill --kill-who=main --signal=SIGUSR1 nginx.service'];
    t.equal(await readFile(recorded, 'utf8'), `${calls.join('\n')}\n`.repeat(2),
      `postrotate signalled the main process of the gateway and of nginx once per rotation (only ${unit} runs here; the other call failed, as on a host without it)`);
    const current = await readFile(auditPath, 'utf8');
    const first = await readFile(`${auditPath}.1`, 'utf8');
    const oldest = gunzipSync(await readFile(`${auditPath}.2.gz`)).toString('utf8');
    const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
    t.same(idsOf(oldest).sort((a, b) => a - b), range(0, 40), 'audit.log.2.gz: the first forty requests, compressed a rotation later');
    t.same(idsOf(first).sort((a, b) => a - b), range(40, 80), 'audit.log.1: the next forty, not yet compressed (delaycompress)');
    t.same(idsOf(current).sort((a, b) => a - b), range(80, 120), 'audit.log: the last forty');
    const st = await stat(auditPath);
    t.same([st.uid, st.mode & 0o777], [0, 0o600], 'the new file has the owner and mode of `create`');
    if (kind === 'gateway') t.notMatch(front.output(), /cannot (open|write) the audit log|dropped/, 'no audit trouble was reported');
  });
}
