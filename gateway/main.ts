/**
 * `outpost gateway start`: load and check gateway.yaml, listen, print one line saying where, then reload
 * on SIGHUP or when a certificate/key/CA/CRL file changes, warn while the CRL nears nextUpdate, reopen the
 * audit log on SIGUSR1 (logrotate), and stop cleanly on SIGTERM/SIGINT (open requests finish, idle
 * connections close). Each of these signals first hands the buffered audit lines to the audit log.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { Writable } from 'node:stream';
import { startupDone } from '../core/daemon-runtime.js';
import { lazyLogger, type LogSink } from '../core/lazy-logger.js';
import type { GatewayConfig } from './config.js';
import { loadGatewayConfigIsolated as loadGatewayConfig } from './config-isolated.js';
import { createGateway, type Gateway } from './server.js';
import { daysUntil } from './tls.js';

export interface RunningGateway {
  gateway: Gateway;
  stop(): Promise<void>;
}

function tlsFiles(config: Readonly<GatewayConfig>): string[] {
  const t = config.tls;
  return [t.cert, t.key, t.ca, ...(t.crl ? [t.crl] : [])];
}

/** Logs a warning when the CRL is close to (or past) nextUpdate, and when certificates near expiry. */
export function checkFreshness(gateway: Gateway, config: Readonly<GatewayConfig>, logger: LogSink, now = Date.now()): void {
  const m = gateway.tls();
  if (m.crlNextUpdate) {
    const hours = (m.crlNextUpdate.getTime() - now) / 3_600_000;
    if (hours <= 0) {
      logger.error('the CRL is past its nextUpdate: OpenSSL now refuses EVERY client certificate; publish a fresh one with `outpost ca crl`', {
        crl: config.tls.crl, nextUpdate: m.crlNextUpdate.toISOString(),
      });
    } else if (hours <= config.tls.crlWarnHours) {
      logger.warn('the CRL nears its nextUpdate; publish a fresh one with `outpost ca crl` before then, or every client will be refused', {
        crl: config.tls.crl, nextUpdate: m.crlNextUpdate.toISOString(), hoursLeft: Math.floor(hours),
      });
    }
  }
  const days = daysUntil(m.certNotAfter, now);
  if (days <= 14) logger.warn('the gateway certificate expires soon; renew it with `outpost ca renew`', { cert: config.tls.cert, daysLeft: days });
}

export async function startGateway(configPath: string, options: { stdout?: Writable } = {}): Promise<RunningGateway> {
  // First, before anything that takes time: without a listener, SIGUSR1 makes Node open its inspector (an
  // unauthenticated debugger on 127.0.0.1:9229), and logrotate sends it every day — also to a gateway that
  // is just starting. Until the audit log is open there is nothing to reopen.
  let onUsr1 = (): void => undefined;
  process.on('SIGUSR1', () => onUsr1());
  let config = await loadGatewayConfig(configPath);
  const logger = lazyLogger({ level: config.logLevel, defaultMeta: { part: 'gateway' }, ...(options.stdout ? { stream: options.stdout } : {}) });
  const gateway = await createGateway(config, logger, options.stdout);
  const addr = gateway.address();
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  process.stdout.write(`outpost gateway listening on https://${host}:${addr.port} (pid ${process.pid})\n`);
  startupDone();
  const metricsAt = gateway.metricsAddress();
  if (metricsAt) logger.info('metrics listening', { url: `http://${metricsAt.family === 'IPv6' ? `[${metricsAt.address}]` : metricsAt.address}:${metricsAt.port}/metrics` });
  checkFreshness(gateway, config, logger);

  let reloading: Promise<void> | undefined;
  const reload = (why: string): Promise<void> => {
    reloading ??= (async () => {
      try {
        const next = await loadGatewayConfig(configPath);
        await gateway.reload(next);
        rewatch(next);
        config = next;
        logger.info('reloaded certificates, CRL and policy', { trigger: why, rules: next.access.length });
        checkFreshness(gateway, config, logger);
      } catch (err) {
        const e = err as Error & { code?: string };
        logger.error('reload failed; still serving with the previous configuration', { trigger: why, code: e.code, err: e.message });
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };

  // Polling stat() survives the atomic rename that `outpost ca crl` and editors use, unlike fs.watch.
  let watched: string[] = [];
  let debounce: NodeJS.Timeout | undefined;
  const onChange = (file: string) => () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(`file changed: ${file}`), 300);
  };
  function rewatch(c: Readonly<GatewayConfig>): void {
    for (const f of watched) unwatchFile(f);
    watched = [...tlsFiles(c), configPath];
    for (const f of watched) watchFile(f, { interval: 1000, persistent: false }, onChange(f));
  }
  rewatch(config);
  const freshness = setInterval(() => checkFreshness(gateway, config, logger), 3_600_000).unref();

  // The audit log opened at start stays the one reopened: auditLog changes with a restart only.
  const auditLog = config.auditLog;
  onUsr1 = () => {
    if (auditLog === '-') logger.info('SIGUSR1: the audit log is stdout; nothing to reopen');
    else gateway.reopenAuditLog('SIGUSR1');
  };
  const onHup = () => {
    gateway.flushAudit();
    void reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('SIGHUP', onHup);
      // The SIGUSR1 listener stays (see above); the audit log is closed by gateway.close().
      onUsr1 = () => undefined;
      for (const f of watched) unwatchFile(f);
      clearTimeout(debounce);
      clearInterval(freshness);
      await gateway.close();
      logger.info('gateway stopped');
      await logger.settled();
    })();
    return stopping;
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      // At once, not after the requests in flight: if the stop is cut short (a second signal, systemd's
      // TimeoutStopSec), what was logged before the signal is already on its way to the file.
      gateway.flushAudit();
      void stop().then(() => process.exit(0));
    });
  }
  return { gateway, stop };
}
