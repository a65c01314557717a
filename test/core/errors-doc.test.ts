import t from 'tap';
import { readFileSync } from 'node:fs';
import { renderErrorsDoc, registeredErrors } from '../../scripts/errors-table.js';

t.test('ERRORS.md matches the error tables in the code', async (t) => {
  const onDisk = readFileSync(new URL('../../ERRORS.md', import.meta.url), 'utf8');
  t.equal(onDisk, renderErrorsDoc(), 'run `npm run errors:doc` after changing an error table');
});

t.test('every error code has a meaning, an action and an HTTP status', async (t) => {
  for (const [code, { spec }] of registeredErrors()) {
    t.match(code, /^[A-Z][A-Z0-9_]+$/, `${code} is upper snake case`);
    t.ok(spec.meaning.length > 10, `${code} says what it means`);
    t.ok(spec.action.length > 10, `${code} says what to do`);
    t.ok(spec.status >= 400 && spec.status <= 599, `${code} has an error status`);
  }
});
