/** config/nginx/outpost-gateway.conf is what the renderer makes of config/nginx/gateway.example.yaml. */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderNginxConfig } from '../../gateway/nginx.js';
import { loadGatewayConfig } from '../../gateway/config.js';
import { securityHeaders } from '../../gateway/security-headers.js';
import { repoRoot } from '../fixtures/cli.js';

t.test('the committed nginx configuration is in step with the example gateway.yaml', async (t) => {
  const dir = join(repoRoot, 'config', 'nginx');
  const config = await loadGatewayConfig(join(dir, 'gateway.example.yaml'));
  const rendered = renderNginxConfig({ config, sha1ByThumbprint: new Map(), accessLog: '/var/log/outpost/audit.log', securityHeaders: securityHeaders().list });
  t.equal(await readFile(join(dir, 'outpost-gateway.conf'), 'utf8'), rendered,
    'render again: outpost gateway nginx-config --config config/nginx/gateway.example.yaml --out config/nginx/ --access-log /var/log/outpost/audit.log');
});
