/** `npm run openapi:doc`: writes docs/openapi.yaml from the API contract (core/api/contract.ts, routes.ts). */
import { writeFileSync } from 'node:fs';
import { renderOpenApi } from './openapi-render.js';

writeFileSync(new URL('../docs/openapi.yaml', import.meta.url), renderOpenApi());
console.log('docs/openapi.yaml written');
