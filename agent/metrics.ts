/** Prometheus metrics (prom-client) on a registry of our own, so tests and several agents never collide. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobRunner } from './job-runner.js';

export interface AgentMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly jobDuration: Histogram<'state'>;
}

export function createMetrics(runner: JobRunner): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'outpost_agent_' });
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
