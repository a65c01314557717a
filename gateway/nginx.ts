/**
 * Renders the gateway's policy as nginx configuration (an http-context include), so sites that already run
 * nginx get the same front: TLS settings, client verification and CRL, source allow/deny, the first-match
 * rule table with methods per rule, request refusals, header hygiene, limits, security headers, the audit
 * line and the upstream to the agent. Every block says which gateway.yaml key it mirrors. Pure: the caller
 * reads files (SHA-1 fingerprints for pinned clients, the upstream secret) and writes the result.
 */
import type { GatewayConfig } from './config.js';
import { formatCidr, parseCidr } from './checks/cidr.js';
import { canonicalThumbprint, subjectPairsOf } from './checks/client-cert.js';
import { gatewayError } from './errors.js';
import { CURVES, TLS12_CIPHERS } from './tls.js';

export interface NginxRenderInput {
  config: Readonly<GatewayConfig>;
  /** SHA-256 thumbprint → SHA-1 fingerprint (lowercase hex), for pins: nginx only exposes SHA-1. */
  sha1ByThumbprint: ReadonlyMap<string, string>;
  /** The upstream secret for a TCP upstream (the rendered file must then be private to nginx's master). */
  secret?: string;
  /** Where nginx writes the audit lines. */
  accessLog: string;
  securityHeaders: readonly string[];
}

const NGINX_CURVES: Record<(typeof CURVES)[number], string> = { X25519: 'X25519', 'P-256': 'prime256v1', 'P-384': 'secp384r1' };

/** nginx string literal: double-quoted, \ and " escaped. nginx has no escape for $ (it starts a variable). */
function q(text: string): string {
  if (text.includes('$')) throw new Error('a value for nginx must not contain "$"');
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function reEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/"' ;]/g, (c) => `\\${c}`);
}

function ms(v: number): string {
  return `${v}ms`;
}

function ruleBlocks(input: NginxRenderInput): string[] {
  const { config } = input;
  const out: string[] = [];
  config.access.forEach((rule, i) => {
    const path = `access[${i}] (${rule.name})`;
    // nginx cannot serve the gateway's admin routes (it would forward them to the agent): refuse rather
    // than render a rule that silently does something else.
    if (rule.admin) throw gatewayError('GATEWAY_NGINX_ADMIN_RULE', `${path}.admin: nginx cannot serve the gateway's admin routes`);
    out.push(`# ${path}.sources`);
    out.push(`geo $outpost_src_${i} {`, '    default 0;');
    for (const s of rule.sources) {
      // Canonical form: an IPv4-mapped network becomes the IPv4 network, as the gateway matches it.
      out.push(`    ${formatCidr(parseCidr(s.trim()))} 1;`);
    }
    out.push('}');
    const pins = rule.clients;
    if (pins && (pins.thumbprints?.length || pins.subjects?.length)) {
      out.push(`# ${path}.clients.thumbprints — nginx exposes only the SHA-1 fingerprint ($ssl_client_fingerprint)`);
      out.push(`map $ssl_client_fingerprint $outpost_tp_${i} {`, '    default 0;');
      for (const t of pins.thumbprints ?? []) {
        const tp = canonicalThumbprint(t);
        const sha1 = input.sha1ByThumbprint.get(tp);
        if (!sha1) {
          throw gatewayError('GATEWAY_NGINX_PIN_UNRESOLVED', `${path}.clients.thumbprints: no certificate given for ${tp}`);
        }
        out.push(`    ${sha1.toLowerCase()} 1;  # SHA-256 ${tp}`);
      }
      out.push('}');
      out.push(`# ${path}.clients.subjects — every pinned attribute must appear in the RFC 2253 subject`);
      out.push(`map $ssl_client_s_dn $outpost_subj_${i} {`, '    default 0;');
      for (const s of pins.subjects ?? []) {
        const look = subjectPairsOf(s).map((p) => `(?=(.*,)?${reEscape(p)}(,|$))`).join('');
        out.push(`    "~^${look}" 1;`);
      }
      out.push('}');
      out.push(`map "$ssl_client_verify:$outpost_tp_${i}$outpost_subj_${i}" $outpost_cli_${i} {`, '    default 0;', '    ~^SUCCESS:.*1 1;', '}');
    } else if (config.tls.requireClientCert) {
      out.push(`# ${path}: no clients pinned — any certificate verified against tls.ca and tls.crl`);
      out.push(`map $ssl_client_verify $outpost_cli_${i} {`, '    default 0;', '    SUCCESS 1;', '}');
    } else {
      out.push(`# ${path}: no clients pinned and tls.requireClientCert: false — any client`);
      out.push(`map $ssl_client_verify $outpost_cli_${i} {`, '    default 1;', '    ~^FAILED 0;', '}');
    }
  });
  // First match wins: concatenate each rule's match bit; the first 1 names the rule.
  const bits = config.access.map((_, i) => `$outpost_src_${i}$outpost_cli_${i}`).join(':');
  out.push('# access: first match wins (rule i applies when its source and client bits are both 1); default deny');
  out.push(`map "${bits}" $outpost_rule {`, '    default "";');
  config.access.forEach((rule, i) => {
    out.push(`    "~^${'[01][01]:'.repeat(i)}11" ${rule.name};`);
  });
  out.push('}');
  out.push('# access[].methods: the rule that applied decides the method');
  out.push('map "$outpost_rule:$request_method" $outpost_allow {', '    default 0;');
  for (const rule of config.access) for (const m of rule.methods) out.push(`    "${rule.name}:${m}" 1;`);
  out.push('}');
  return out;
}

export function renderNginxConfig(input: NginxRenderInput): string {
  const { config } = input;
  const t = config.tls;
  const l = config.limits;
  const up = config.upstream;
  const listenHost = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const anySource = config.access.flatMap((r) => r.sources.map((s) => formatCidr(parseCidr(s.trim()))));
  const sec: string[] = [];
  for (let i = 0; i < input.securityHeaders.length; i += 2) sec.push(input.securityHeaders[i]!, input.securityHeaders[i + 1]!);
  const secHide: string[] = [];
  const secAdd: string[] = [];
  for (let i = 0; i < sec.length; i += 2) {
    secHide.push(`        proxy_hide_header ${sec[i]};`);
    secAdd.push(`        add_header ${sec[i]} ${q(sec[i + 1]!)} always;`);
  }

  const lines = [
    '# Rendered by `outpost gateway nginx-config` from gateway.yaml. Do not edit: change gateway.yaml and',
    '# render again, so the Node gateway and nginx keep enforcing the same policy.',
    '# Include it in the http {} context.',
    '',
    ...ruleBlocks(input),
    '',
    '# request refusals (gateway/request-guard.ts): a body on GET',
    'map "$request_method:$http_content_length:$http_transfer_encoding" $outpost_get_body {',
    '    default 0;',
    '    "~^GET:0?:$" 0;',
    '    "~^GET:" 1;',
    '}',
    '# auditLog: the reason a request was refused, for the audit line',
    'map "$ssl_client_verify|$outpost_rule|$outpost_allow|$status" $outpost_reason {',
    '    default "";',
    '    "~^FAILED:(?<why>[^|]*)" $why;',
    '    "~^NONE\\|\\|" NO_CLIENT_CERT;',
    '    "~^[^|]*\\|\\|" IP_OR_CLIENT_NOT_ALLOWED;',
    '    "~\\|0\\|403$" METHOD_NOT_ALLOWED;',
    '    "~\\|405$" METHOD_REFUSED;',
    '    "~\\|400$" BAD_REQUEST;',
    '    "~\\|413$" BODY_TOO_LARGE;',
    '}',
    'map "$outpost_allow:$upstream_status" $outpost_decision { default deny; "~^1:[0-9]" allow; }',
    "log_format outpost_audit escape=json '{\"time\":\"$time_iso8601\",\"kind\":\"request\",\"src\":\"$remote_addr\",'",
    "    '\"subject\":\"$ssl_client_s_dn\",\"thumbprintSha1\":\"$ssl_client_fingerprint\",\"method\":\"$request_method\",'",
    "    '\"path\":\"$request_uri\",\"status\":$status,\"bytes\":$body_bytes_sent,\"durationS\":$request_time,'",
    "    '\"decision\":\"$outpost_decision\",\"rule\":\"$outpost_rule\",\"reason\":\"$outpost_reason\",\"clientVerify\":\"$ssl_client_verify\"}';",
    '',
    '# limits.connectionsPerSource',
    'limit_conn_zone $binary_remote_addr zone=outpost_per_source:1m;',
    '',
    '# upstream',
    'upstream outpost_agent {',
    `    server ${'socket' in up ? `unix:${up.socket}` : `${up.host.includes(':') ? `[${up.host}]` : up.host}:${up.port}`};`,
    '    keepalive 32;',
    '}',
    '',
    'server {',
    '    # listen',
    `    listen ${listenHost}:${config.listen.port} ssl;`,
    '    server_tokens off;',
    `    access_log ${input.accessLog} outpost_audit;  # auditLog`,
    '',
    '    # tls.cert, tls.key',
    `    ssl_certificate ${t.cert};`,
    `    ssl_certificate_key ${t.key};`,
    '    # tls.minVersion; Mozilla intermediate (guidelines 6.0): ECDHE with AES-GCM/ChaCha20, no server preference',
    `    ssl_protocols ${t.minVersion === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2 TLSv1.3'};`,
    `    ssl_ciphers ${TLS12_CIPHERS.join(':')};`,
    `    ssl_ecdh_curve ${CURVES.map((c) => NGINX_CURVES[c]).join(':')};`,
    '    ssl_prefer_server_ciphers off;',
    '    ssl_session_tickets off;  # nginx never allows client-initiated renegotiation',
    '    # tls.ca, tls.requireClientCert',
    `    ssl_client_certificate ${t.ca};`,
    `    ssl_verify_client ${t.requireClientCert ? 'on' : 'optional'};`,
    '    ssl_verify_depth 2;',
    ...(t.crl ? ['    # tls.crl', `    ssl_crl ${t.crl};`] : []),
    '',
    '    # limits',
    `    client_max_body_size ${Math.max(1, l.maxBodyBytes)};  # limits.maxBodyBytes`,
    `    large_client_header_buffers 4 ${Math.max(1, Math.ceil(l.maxHeaderBytes / 4096))}k;  # limits.maxHeaderBytes (nginx answers 400, the gateway 431)`,
    `    client_header_timeout ${ms(l.headersTimeoutMs)};  # limits.headersTimeoutMs`,
    `    client_body_timeout ${ms(l.requestTimeoutMs)};  # limits.requestTimeoutMs (between reads in nginx)`,
    `    keepalive_timeout ${ms(l.keepAliveTimeoutMs)};  # limits.keepAliveTimeoutMs`,
    `    keepalive_requests ${l.maxRequestsPerConnection};  # limits.maxRequestsPerConnection`,
    l.maxConnectionAgeSeconds > 0
      ? `    keepalive_time ${l.maxConnectionAgeSeconds}s;  # limits.maxConnectionAgeSeconds`
      : '    # limits.maxConnectionAgeSeconds: 0 (no limit); nginx keeps its keepalive_time default of 1h',
    `    limit_conn outpost_per_source ${l.connectionsPerSource};  # limits.connectionsPerSource`,
    '',
    '    # access[].sources: unlisted sources are refused outright',
    ...[...new Set(anySource)].map((s) => `    allow ${s};`),
    '    deny all;',
    '    # access: default deny; the rule that applied must allow the method',
    '    if ($outpost_allow = 0) { return 403; }',
    '    # only GET and POST ever reach the agent; no upgrades, no body on GET',
    '    if ($request_method !~ ^(GET|POST)$) { return 405; }',
    '    if ($http_upgrade) { return 405; }',
    '    if ($outpost_get_body) { return 400; }',
    '',
    '    # header hygiene: client-sent forwarding and identity headers never reach the agent',
    '    proxy_http_version 1.1;',
    ...[
      ['Host', '$http_host'], ['Connection', '""'], ['Upgrade', '""'], ['Keep-Alive', '""'], ['Proxy-Connection', '""'], ['TE', '""'],
      ['Trailer', '""'], ['Proxy-Authorization', '""'], ['Forwarded', '""'], ['X-Real-IP', '""'], ['X-Client-IP', '""'],
      ['True-Client-IP', '""'], ['X-Forwarded-Host', '""'], ['X-Forwarded-Port', '""'], ['X-Forwarded-Prefix', '""'],
      ['X-Forwarded-Server', '""'], ['X-Forwarded-Ssl', '""'], ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-For', '$remote_addr'], ['X-Outpost-Client-Subject', '$ssl_client_s_dn'],
      // nginx cannot hash the client certificate with SHA-256; the agent gets the subject only.
      ['X-Outpost-Client-Thumbprint', '""'],
      ['X-Outpost-Secret', input.secret === undefined ? '""' : q(input.secret)],
    ].map(([k, v]) => `    proxy_set_header ${k} ${v};`),
    '    proxy_connect_timeout 5s;',
    `    proxy_read_timeout ${ms(l.upstreamTimeoutMs)};  # limits.upstreamTimeoutMs`,
    '',
    '    # job output with follow=1 and the event stream pass through unbuffered, and may stay quiet long',
    '    location ~ ^/v1/(events|jobs/[^/]+/output)$ {',
    '        proxy_pass http://outpost_agent;',
    '        proxy_buffering off;',
    '        proxy_read_timeout 3600s;',
    '        proxy_hide_header X-Powered-By;',
    ...secHide,
    ...secAdd,
    '    }',
    '    location / {',
    '        proxy_pass http://outpost_agent;',
    '        proxy_buffer_size 64k;',
    '        proxy_buffers 8 256k;',
    '        proxy_busy_buffers_size 256k;',
    '        proxy_hide_header X-Powered-By;',
    ...secHide,
    ...secAdd,
    '    }',
    '}',
    '',
  ];
  return lines.join('\n');
}
