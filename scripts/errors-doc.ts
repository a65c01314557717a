import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from './errors-table.js';

writeFileSync(new URL('../ERRORS.md', import.meta.url), renderErrorsDoc());
console.log('ERRORS.md written');
