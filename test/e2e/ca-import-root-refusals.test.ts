import t from 'tap';
import { join } from 'node:path';
import { ca, P12_PASSWORD } from '../fixtures/ca-cli.js';
import { populatedStore, passphrase, exportFast } from '../fixtures/ca-store.js';
import { exportRoot } from '../../ca/transfer.js';

t.test('import-root tells a wrong file password, a wrong standby passphrase and a leaf file apart', async (t) => {
  const s = await populatedStore(t);
  const rootFile = join(s.work, 'root.p12');
  await exportRoot(s.store, { out: rootFile, iterations: 2048, passphrase, password: async () => P12_PASSWORD });
  t.equal((await ca(join(s.work, 'a'), ['import-root', rootFile], { OUTPOST_P12_PASSWORD: 'not it at all' })).errorCode, 'CA_PKCS12_BAD_PASSWORD');

  const standby = join(s.work, 'standby');
  const imp = await ca(standby, ['import-root', rootFile, '--make-default'], { OUTPOST_CA_PASSWORD: 'the standby passphrase' });
  t.equal(imp.code, 0, imp.stderr);
  t.equal((await ca(standby, ['crl'])).errorCode, 'CA_BAD_PASSPHRASE', 'the standby key is encrypted with the standby passphrase');

  const leafFile = await exportFast(s, s.listener.thumbprint, join(s.work, 'leaf.p12'));
  t.equal((await ca(join(s.work, 'b'), ['import-root', leafFile])).errorCode, 'CA_IMPORT_NOT_A_CA');
});
