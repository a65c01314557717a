/**
 * Prometheus metrics on a loopback-only port (metrics: in gateway.yaml). Values are read at scrape time
 * from plain counters, so the request path never touches prom-client's label maps.
 */
import http from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { daysUntil } from './tls.js';

export interface MetricsSource {
  certNotAfter(): Date;
  caNotAfter(): Date;
  crlNextUpdate(): Date | undefined;
  counters: { allowed: number; denied: number; connectionsRefused: number };
  openConnections(): number;
  auditSourcesEvicted(): number;
}

export function metricsRegistry(src: MetricsSource): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'outpost_gateway_certificate_days_to_expiry',
    help: 'Whole days until the certificate expires (negative once expired)',
    labelNames: ['certificate'],
    registers: [registry],
    collect() {
      this.set({ certificate: 'listener' }, daysUntil(src.certNotAfter()));
      this.set({ certificate: 'ca' }, daysUntil(src.caNotAfter()));
    },
  });
  new Gauge({
    name: 'outpost_gateway_crl_seconds_to_next_update',
    help: 'Seconds until the loaded CRL passes nextUpdate; past it every client is refused (-1 without a CRL)',
    registers: [registry],
    collect() {
      const next = src.crlNextUpdate();
      this.set(next ? Math.round((next.getTime() - Date.now()) / 1000) : -1);
    },
  });
  new Gauge({
    name: 'outpost_gateway_requests',
    help: 'Requests decided since start, by decision',
    labelNames: ['decision'],
    registers: [registry],
    collect() {
      this.set({ decision: 'allow' }, src.counters.allowed);
      this.set({ decision: 'deny' }, src.counters.denied);
    },
  });
  new Gauge({
    name: 'outpost_gateway_connections_refused',
    help: 'Connections refused before HTTP (unlisted source, connection limit, TLS or certificate failure)',
    registers: [registry],
    collect() {
      this.set(src.counters.connectionsRefused);
    },
  });
  new Gauge({
    name: 'outpost_gateway_open_connections',
    help: 'Client connections open now',
    registers: [registry],
    collect() {
      this.set(src.openConnections());
    },
  });
  new Gauge({
    name: 'outpost_gateway_audit_sources_evicted',
    help: 'Unlisted sources the audit rate limit stopped tracking early because it tracked too many (their held-back lines were written as a summary)',
    registers: [registry],
    collect() {
      this.set(src.auditSourcesEvicted());
    },
  });
  return registry;
}

export function metricsServer(registry: Registry): http.Server {
  return http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
}
