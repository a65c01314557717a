import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ca, FAST, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore, passphrase, listing } from '../fixtures/ca-store.js';
import { openssl } from '../fixtures/openssl.js';
import { issue } from '../../ca/authority.js';
import { revoke } from '../../ca/revocation.js';

interface Rec {
  thumbprint: string;
  serial: string;
  state: string;
  hasKey: boolean;
}

t.test('export-root + import-root --make-default: a standby issues certificates the same clients trust', async (t) => {
  const s = await populatedStore(t);
  const gone = await issue(s.store, { profile: 'connector', name: 'laptop', key: { type: 'rsa', bits: 2048 }, passphrase });
  await revoke(s.store, { thumbprintOrSerial: gone.thumbprint, reason: 'keyCompromise', passphrase });

  const rootFile = join(s.work, 'root.p12');
  const exp = await ca(s.dir, ['export-root', '--out', rootFile, ...FAST]);
  t.equal(exp.code, 0, exp.stderr);
  t.same([exp.json.records, exp.json.revoked], [3, 1]);
  const info = await openssl(['pkcs12', '-info', '-in', rootFile, '-noout', '-passin', 'env:P12PW'], { env: { P12PW: P12_PASSWORD } });
  t.equal(info.code, 0, 'openssl reads the export-root file without -legacy');
  t.match(info.stderr, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);

  const standby = join(s.work, 'standby-store');
  const imp = await ca(standby, ['import-root', rootFile, '--make-default'], { OUTPOST_CA_PASSWORD: 'the standby passphrase' });
  t.equal(imp.code, 0, imp.stderr);
  t.equal(imp.json.thumbprint, s.root.thumbprint);
  t.equal(imp.json.isDefault, true);
  t.same([imp.json.records, imp.json.revoked], [3, 1]);
  const standbyEnv = { OUTPOST_CA_PASSWORD: 'the standby passphrase' };

  const standbyList = await ca(standby, ['list']);
  t.equal(standbyList.json.defaultRoot, s.root.thumbprint);
  const recs = standbyList.json.certificates as Rec[];
  t.equal(recs.find((c) => c.thumbprint === gone.thumbprint)?.state, 'revoked', 'revocation state carried over');
  t.equal(recs.find((c) => c.thumbprint === s.listener.thumbprint)?.hasKey, false, 'leaf keys stay on the primary');

  const issued = await ca(standby, ['issue', 'connector', '--name', 'master-standby', '--make-default', '--key', 'rsa-2048'], standbyEnv);
  t.equal(issued.code, 0, issued.stderr);
  // The primary's root file (what every gateway already trusts) verifies the standby's certificate.
  t.equal((await openssl(['verify', '-CAfile', s.root.certPath, '-purpose', 'sslclient', issued.json.certPath as string])).code, 0);
  const primarySerials = (await listing(s.dir)).certificates as Rec[];
  t.notOk(primarySerials.some((c) => c.serial === issued.json.serial), 'no serial collision with the primary');
  const standbySerials = ((await listing(standby)).certificates as Rec[]).map((c) => c.serial);
  t.equal(new Set(standbySerials).size, standbySerials.length, 'serials unique in the standby store');

  // The standby's CRL supersedes the primary's and still lists the primary's revocation.
  const crlOut = join(s.work, 'standby.crl');
  const crl = await ca(standby, ['crl', '--out', crlOut], standbyEnv);
  t.equal(crl.code, 0, crl.stderr);
  const primaryCrlNumber = (await listing(s.dir)).crlNumber as number;
  t.ok((crl.json.crlNumber as number) > primaryCrlNumber, 'standby CRL number is above the primary one');
  t.equal((await openssl(['crl', '-in', crlOut, '-CAfile', s.root.certPath, '-noout', '-verify'])).code, 0);
  const check = await openssl(['verify', '-crl_check', '-CAfile', s.root.certPath, '-CRLfile', crlOut, gone.certPath]);
  t.match(check.stdout + check.stderr, /certificate revoked/);

  // The primary's connector moves over with its key (IMPORT EXEC CERT) and keeps working.
  const exec = join(s.work, 'exec.p12');
  t.equal((await ca(s.dir, ['export', s.connector.thumbprint, '--out', exec, ...FAST])).code, 0);
  const execImp = await ca(standby, ['import', exec, '--make-default']);
  t.equal(execImp.code, 0, execImp.stderr);
  t.equal((await listing(standby)).defaultConnector, s.connector.thumbprint);
  t.equal((await ca(standby, ['import', exec])).code, 0, 're-importing is harmless');

  t.ok((await readFile(join(standby, 'roots', `${s.root.thumbprint}.key`), 'utf8')).includes('ENCRYPTED PRIVATE KEY'));
});
