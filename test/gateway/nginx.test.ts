import t from 'tap';
import { renderNginxConfig } from '../../gateway/nginx.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { securityHeaders } from '../../gateway/security-headers.js';
import { gatewayError } from '../../gateway/errors.js';

const TP = 'B0AF7184C0F1C5E63662167AC5D4B01983BEE4BC949BE1C2A3385C296DC32CD5';
const config = parseGatewayConfig({
  listen: { host: '0.0.0.0', port: 8443 },
  tls: { cert: '/etc/outpost/gateway/listener.pem', key: '/etc/outpost/gateway/listener.key', ca: '/etc/outpost/gateway/ca.pem', crl: '/etc/outpost/gateway/ca.crl' },
  upstream: { socket: '/run/outpost/agent.sock' },
  access: [
    { name: 'master', sources: ['192.0.2.10/32', '::ffff:192.0.2.11/128', '2001:db8::/64'], clients: { thumbprints: [TP], subjects: ['CN=master'] }, methods: ['GET', 'POST'] },
    { name: 'monitoring', sources: ['198.51.100.0/24'], methods: ['GET'] },
  ],
  auditLog: '/var/log/outpost/audit.log',
  limits: { maxBodyBytes: 65536, connectionsPerSource: 16 },
});
const render = (sha1 = new Map([[TP, 'c2691fcf906ec6631fad2ce6782fbc88d800204a']])) =>
  renderNginxConfig({ config, sha1ByThumbprint: sha1, accessLog: '/var/log/outpost/audit.log', securityHeaders: securityHeaders().list });

t.test('TLS settings mirror tls.*', async (t) => {
  const text = render();
  t.match(text, 'ssl_protocols TLSv1.2 TLSv1.3;');
  t.match(text, 'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:');
  const suites = /ssl_ciphers ([^;]+);/.exec(text)?.[1]?.split(':') ?? [];
  t.ok(suites.length === 6 && suites.every((c) => /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/.test(c)), 'ECDHE + AEAD only');
  t.match(text, 'ssl_ecdh_curve X25519:prime256v1:secp384r1;');
  t.match(text, 'ssl_verify_client on;');
  t.match(text, 'ssl_crl /etc/outpost/gateway/ca.crl;');
  t.match(text, '# tls.ca, tls.requireClientCert');
});

t.test('the access policy: sources, pins, first match, methods, default deny', async (t) => {
  const text = render();
  t.match(text, /# access\[0\] \(master\)\.sources\ngeo \$outpost_src_0 \{\n {4}default 0;\n {4}192\.0\.2\.10\/32 1;\n {4}192.0.2.11\/32 1;/, 'IPv4-mapped written as IPv4');
  t.match(text, `    c2691fcf906ec6631fad2ce6782fbc88d800204a 1;  # SHA-256 ${TP}`);
  t.match(text, '"~^(?=(.*,)?CN=master(,|$))" 1;');
  t.match(text, '"~^11" master;');
  t.match(text, '"~^[01][01]:11" monitoring;');
  t.match(text, '"master:POST" 1;');
  t.match(text, '"monitoring:GET" 1;');
  t.notMatch(text, '"monitoring:POST"');
  t.match(text, 'allow 198.51.100.0/24;');
  t.match(text, /allow 2001:db8::\/64;[\s\S]*deny all;/);
  t.match(text, 'if ($outpost_allow = 0) { return 403; }');
  t.match(text, 'if ($request_method !~ ^(GET|POST)$) { return 405; }');
});

t.test('header hygiene and limits', async (t) => {
  const text = render();
  for (const h of ['Forwarded ""', 'X-Real-IP ""', 'X-Forwarded-For $remote_addr', 'X-Forwarded-Proto https', 'X-Outpost-Client-Subject $ssl_client_s_dn', 'X-Outpost-Secret ""', 'Trailer ""']) {
    t.match(text, `proxy_set_header ${h};`);
  }
  t.match(text, 'client_max_body_size 65536;  # limits.maxBodyBytes');
  t.match(text, 'limit_conn outpost_per_source 16;  # limits.connectionsPerSource');
  t.match(text, 'keepalive_requests 1000;  # limits.maxRequestsPerConnection');
  t.match(text, 'keepalive_time 3600s;  # limits.maxConnectionAgeSeconds');
  const unlimited = renderNginxConfig({ config: { ...config, limits: { ...config.limits, maxConnectionAgeSeconds: 0 } }, sha1ByThumbprint: new Map([[TP, 'aa']]), accessLog: '/dev/stderr', securityHeaders: [] });
  t.notMatch(unlimited, /keepalive_time \d/, 'no age limit: nginx keeps its default');
  t.match(text, 'server unix:/run/outpost/agent.sock;');
  t.match(text, /add_header strict-transport-security "max-age=31536000; includeSubDomains" always;/);
  t.match(text, /location ~ \^\/v1\/\(events\|jobs\/\[\^\/\]\+\/output\)\$ \{\n\s+proxy_pass http:\/\/outpost_agent;\n\s+proxy_buffering off;/);
});

t.test('fail: a thumbprint pin without its certificate cannot be rendered', async (t) => {
  const err = t.throws(() => render(new Map()));
  t.ok(gatewayError.is(err, 'GATEWAY_NGINX_PIN_UNRESOLVED'));
  t.match((err as Error).message, /access\[0\] \(master\)\.clients\.thumbprints/);
});

t.test('a TCP upstream carries the secret; a $ in it is refused', async (t) => {
  const tcp = { ...config, upstream: { host: '127.0.0.1' as const, port: 7411, secretFile: '/etc/outpost/agent.secret' } };
  const base = { sha1ByThumbprint: new Map([[TP, 'aa']]), accessLog: '/dev/stderr', securityHeaders: [] };
  t.match(renderNginxConfig({ ...base, config: tcp, secret: 's3cr"t' }), 'proxy_set_header X-Outpost-Secret "s3cr\\"t";');
  t.match(renderNginxConfig({ ...base, config: tcp, secret: 'x' }), 'server 127.0.0.1:7411;');
  t.throws(() => renderNginxConfig({ ...base, config: tcp, secret: 'a$b' }), /must not contain/);
});

t.test('fail: an admin rule is refused (nginx cannot serve the admin routes)', async (t) => {
  const withAdmin = parseGatewayConfig({
    ...config,
    access: [...config.access, { name: 'admin', sources: ['192.0.2.10/32'], clients: { subjects: ['CN=master'] }, admin: true }],
  });
  const err = t.throws(() => renderNginxConfig({ config: withAdmin, sha1ByThumbprint: new Map([[TP, 'c2691fcf906ec6631fad2ce6782fbc88d800204a']]), accessLog: '/x', securityHeaders: [] })) as Error;
  t.ok(gatewayError.is(err, 'GATEWAY_NGINX_ADMIN_RULE'));
  t.match(err.message, 'access[2] (admin).admin');
});
