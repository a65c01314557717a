/**
 * gateway.yaml (docs/gateway.md): every key validated, unknown keys rejected with their path, defaults with units
 * in one place. The access rules are only shape-checked here; `compilePolicy` turns them into checks and
 * reports a bad CIDR or thumbprint with its path.
 */
import { z } from 'zod';
import { loadConfigFile, parseConfig } from '../core/config.js';

const path = z.string().min(1);

const listen = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8443),
  })
  .strict();

const tls = z
  .object({
    cert: path,
    key: path,
    ca: path,
    crl: path.optional(),
    /** The seed's NOALLOWNONE: without a verified client certificate nothing gets through. */
    requireClientCert: z.boolean().default(true),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** Warn this long before the CRL's nextUpdate: past it, OpenSSL rejects every client. */
    crlWarnHours: z.number().positive().default(48),
  })
  .strict();

const upstream = z.union([
  z.object({ socket: path }).strict(),
  z
    .object({
      host: z.enum(['127.0.0.1', '::1', 'localhost']),
      port: z.number().int().min(1).max(65535),
      secretFile: path,
    })
    .strict(),
]);

export const METHODS = ['GET', 'POST'] as const;

const rule = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, . _ - (1-64 characters)'),
    sources: z.array(z.string().min(1)).min(1),
    clients: z
      .object({
        thumbprints: z.array(z.string().min(1)).min(1).optional(),
        subjects: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict()
      .optional(),
    methods: z.array(z.enum(METHODS)).min(1).default(['GET']),
    /**
     * Grants the gateway's own admin routes (/v1/gateway/…: certificate and CRL rotation) and nothing
     * else: an admin rule never forwards to the agent. It must pin its clients, since it can replace the
     * gateway's certificate.
     */
    admin: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.admin && (r.clients?.thumbprints ?? []).length === 0 && (r.clients?.subjects ?? []).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['admin'], message: 'an admin rule must pin its clients (clients.thumbprints or clients.subjects)' });
    }
  });

const limits = z
  .object({
    maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
    maxBodyBytes: z.number().int().min(0).default(1024 * 1024),
    headersTimeoutMs: z.number().int().min(100).default(10_000),
    requestTimeoutMs: z.number().int().min(100).default(30_000),
    keepAliveTimeoutMs: z.number().int().min(100).default(5_000),
    /** How often Node checks the two timeouts above; its default (30 s) lets a slowloris linger. */
    checkIntervalMs: z.number().int().min(100).default(1_000),
    connectionsPerSource: z.number().int().min(1).default(64),
    /** nginx keepalive_requests: the response to the last one says `Connection: close`. */
    maxRequestsPerConnection: z.number().int().min(1).default(1000),
    /** nginx keepalive_time: no new request on a connection older than this (0: no limit). */
    maxConnectionAgeSeconds: z.number().int().min(0).default(3600),
    upstreamTimeoutMs: z.number().int().min(100).default(30_000),
  })
  .strict();

/** One audit line per unlisted source per interval, the rest summarised (gateway/audit-rate-limit.ts). */
const auditRateLimit = z
  .object({
    /** 0: every refusal gets its own line. */
    intervalSeconds: z.number().int().min(0).max(86_400).default(60),
  })
  .strict();

const metrics = z
  .object({
    host: z.enum(['127.0.0.1', '::1', 'localhost']).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
  })
  .strict();

export const gatewayConfigSchema = z
  .object({
    listen: listen.default({ host: '0.0.0.0', port: 8443 }),
    tls,
    upstream,
    access: z.array(rule).min(1, 'at least one rule: with none, every request is denied'),
    auditLog: path.default('-'),
    auditRateLimit: auditRateLimit.default({ intervalSeconds: 60 }),
    limits: limits.default(limits.parse({})),
    metrics: metrics.optional(),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  })
  .strict();

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
/** A rule as compilePolicy takes it; `admin` may be left out (false). */
export type AccessRuleConfig = Omit<GatewayConfig['access'][number], 'admin'> & { admin?: boolean };

export function parseGatewayConfig(raw: unknown, source = 'gateway config'): Readonly<GatewayConfig> {
  return parseConfig(gatewayConfigSchema, raw, source);
}

export function loadGatewayConfig(file: string): Promise<Readonly<GatewayConfig>> {
  return loadConfigFile(gatewayConfigSchema, file);
}
