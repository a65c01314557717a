/** docs/openapi.yaml as text: the contract's document in YAML, with a header saying where it comes from. */
import { stringify } from 'yaml';
import { openApiDocument } from '../core/api/openapi.js';

export function renderOpenApi(): string {
  const header = '# Generated from core/api/ (contract.ts, routes.ts) by `npm run openapi:doc`: edit those, not this file.\n';
  return header + stringify(openApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}
