/**
 * Prometheus metrics (prom-client) on a registry of our own, so tests and several agents never collide.
 *
 * prom-client's parts are loaded one by one rather than through its index: the index also loads the
 * push gateway, cluster and summary support, and its default CPU metric loads @opentelemetry/api (for
 * exemplars, which we do not use) — together ~7 MiB of an idle agent's ~55. The default metrics are
 * registered from their own modules, and the three process CPU counters are kept here, same names.
 */
import { createRequire } from 'node:module';
import type { Counter as CounterT, Gauge as GaugeT, Histogram as HistogramT, Registry as RegistryT } from 'prom-client';
import type { JobRunner } from './job-runner.js';
import type { DiskReading } from './disk-space.js';

const require = createRequire(import.meta.url);
const Registry = require('prom-client/lib/registry.js') as typeof RegistryT;
const Counter = require('prom-client/lib/counter.js') as typeof CounterT;
const Gauge = require('prom-client/lib/gauge.js') as typeof GaugeT;
const Histogram = require('prom-client/lib/histogram.js') as typeof HistogramT;
type Registry = RegistryT;
type Counter<L extends string> = CounterT<L>;
type Histogram<L extends string> = HistogramT<L>;

/** prom-client 15's default metrics (lib/defaultMetrics.js) except processCpuTotal (see above). */
const DEFAULT_METRICS = [
  'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors', 'eventLoopLag',
  'processResources', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc',
] as const;

function collectDefaultMetrics(registry: Registry, prefix: string): void {
  // process_cpu_*_seconds_total, as prom-client's processCpuTotal reports them: one collect sets all three.
  let last = process.cpuUsage();
  const system = new Counter({ name: `${prefix}process_cpu_system_seconds_total`, help: 'Total system CPU time spent in seconds.', registers: [] });
  const total = new Counter({ name: `${prefix}process_cpu_seconds_total`, help: 'Total user and system CPU time spent in seconds.', registers: [] });
  const user = new Counter({
    name: `${prefix}process_cpu_user_seconds_total`,
    help: 'Total user CPU time spent in seconds.',
    registers: [],
    collect() {
      const now = process.cpuUsage();
      const u = now.user - last.user;
      const s = now.system - last.system;
      last = now;
      user.inc(u / 1e6);
      system.inc(s / 1e6);
      total.inc((u + s) / 1e6);
    },
  });
  // Registered first and in prom-client's order (user, system, total), so the exposition reads as before.
  for (const m of [user, system, total]) registry.registerMetric(m);
  for (const name of DEFAULT_METRICS) {
    const register = require(`prom-client/lib/metrics/${name}.js`) as (r: Registry, c: Record<string, unknown>) => void;
    register(registry, { prefix, eventLoopMonitoringPrecision: 10 });
  }
}

export interface AgentMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly jobDuration: Histogram<'state'>;
}

export function createMetrics(runner: JobRunner, disk?: () => DiskReading): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics(registry, 'outpost_agent_');
  new Gauge({
    name: 'outpost_agent_jobs_running',
    help: 'Jobs running now (including ones being launched).',
    registers: [registry],
    collect() {
      this.set(runner.runningCount);
    },
  });
  new Gauge({
    name: 'outpost_agent_jobs_queued',
    help: 'Jobs waiting for a free slot.',
    registers: [registry],
    collect() {
      this.set(runner.queuedCount);
    },
  });
  new Gauge({
    name: 'outpost_agent_jobs_submitted_total',
    help: 'Jobs accepted since the agent started.',
    registers: [registry],
    collect() {
      this.set(runner.counters.submitted);
    },
  });
  new Gauge({
    name: 'outpost_agent_jobs_rejected_queue_full_total',
    help: 'Jobs refused with 503 because the queue was full.',
    registers: [registry],
    collect() {
      this.set(runner.counters.rejectedFull);
    },
  });
  new Gauge({
    name: 'outpost_agent_jobs_rejected_disk_low_total',
    help: 'Jobs refused with 507 because dataDir had less free space than minFreeBytes.',
    registers: [registry],
    collect() {
      this.set(runner.counters.rejectedDisk);
    },
  });
  if (disk) {
    new Gauge({
      name: 'outpost_agent_data_dir_free_bytes',
      help: 'Free bytes on the filesystem of dataDir (what an unprivileged writer may use).',
      registers: [registry],
      collect() {
        const free = disk().freeBytes;
        if (free !== null) this.set(free);
      },
    });
    new Gauge({
      name: 'outpost_agent_data_dir_floor_bytes',
      help: 'minFreeBytes: below this free space new jobs are refused.',
      registers: [registry],
      collect() {
        this.set(disk().floorBytes);
      },
    });
  }
  new Gauge({
    name: 'outpost_agent_jobs_finished_total',
    help: 'Jobs that ended since the agent started, by final state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, n] of runner.counters.finished) this.set({ state }, n);
    },
  });
  const httpRequests = new Counter({
    name: 'outpost_agent_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'outpost_agent_job_duration_seconds',
    help: 'Wall time of finished jobs.',
    labelNames: ['state'] as const,
    buckets: [0.01, 0.1, 1, 10, 60, 600, 3600, 86_400],
    registers: [registry],
  });
  runner.on('change', (c) => {
    if (c.state === 'queued' || c.state === 'running') return;
    const job = runner.get(c.id);
    if (job.startedAt && job.endedAt) jobDuration.observe({ state: c.state }, (Date.parse(job.endedAt) - Date.parse(job.startedAt)) / 1000);
  });
  return { registry, httpRequests, jobDuration };
}
