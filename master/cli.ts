/**
 * `outpost job …` (and `outpost agent status`, registered by agent/cli.ts through
 * `registerAgentStatusCommand`): the master's commands. Each one talks to an agent through its gateway
 * with the connector certificate.
 */
import type { Command } from 'commander';
import { API_VERSION } from '../core/api-version.js';
import { action, printJson } from '../core/cli-support.js';
import { outpostVersion } from '../core/version.js';
import { parseAgentUrl } from './targets.js';
import { masterError } from './errors.js';
import { validateJobId, parsePositiveInt } from './job-request.js';
import { followOutput } from './follow.js';
import { fromRecord } from './fan-out.js';
import { formatDuration } from './summary.js';
import { addTlsOptions, clientPool, type TlsFlags } from './cli-options.js';
import { registerRunCommand } from './run-command.js';
import type { AgentClient } from './client.js';

interface OneAgentFlags extends TlsFlags {
  agent: string;
}

async function withClient<T>(flags: OneAgentFlags, fn: (client: AgentClient) => Promise<T>): Promise<T> {
  const url = parseAgentUrl(flags.agent);
  const { pool } = await clientPool(flags, 1);
  try {
    return await fn(pool.get(url));
  } finally {
    await pool.close();
  }
}

function oneAgent(cmd: Command): Command {
  return addTlsOptions(cmd.requiredOption('--agent <url>', 'the gateway URL of the agent that ran the job'));
}

function printJob(job: Record<string, unknown>): void {
  const r = fromRecord(job as never, 0);
  const lines = [
    ['job', job.id], ['state', job.state], ['exit code', job.exitCode ?? '-'], ['signal', job.signal ?? '-'],
    ['created', job.createdAt ?? '-'], ['started', job.startedAt ?? '-'], ['ended', job.endedAt ?? '-'],
    ['duration', job.endedAt ? formatDuration(r.durationMs ?? null) : '-'],
    ['description', job.description ?? '-'],
  ];
  for (const [k, v] of lines) process.stdout.write(`${String(k).padEnd(12)} ${String(v)}\n`);
}

/** One block per template: name, description, what it runs, then one line per input with its rule. */
export function formatTemplates(templates: readonly Record<string, unknown>[]): string {
  if (templates.length === 0) return 'this agent offers no templates\n';
  const lines: string[] = [];
  for (const t of templates) {
    const runs = Array.isArray(t.argv) ? (t.argv as string[]).join(' ') : typeof t.command === 'string' ? t.command : `script (${String(t.scriptBytes)} bytes)`;
    lines.push(`${String(t.name)}${t.allowed === false ? '  (not permitted for you)' : ''}`);
    if (t.description) lines.push(`  ${String(t.description)}`);
    lines.push(`  runs: ${runs}${t.runAs ? `  as ${String(t.runAs)}` : ''}${t.processServer ? `  on ${String(t.processServer)}` : ''}`);
    for (const i of (t.inputs ?? []) as Record<string, unknown>[]) {
      const rule = i.pattern !== undefined ? `pattern ${String(i.pattern)}` : i.values !== undefined ? `one of ${(i.values as string[]).join('|')}`
        : i.credentialKeys !== undefined ? `credential ${(i.credentialKeys as string[]).join('|')}`
          : i.type === 'integer' ? `${i.min ?? '…'}..${i.max ?? '…'}` : '';
      const need = i.required ? 'required' : i.default !== undefined ? `default ${JSON.stringify(i.default)}` : 'optional';
      lines.push(`  --input ${String(i.name)}=…  ${String(i.type)}${rule ? `, ${rule}` : ''}, ${need}${i.description ? `  ${String(i.description)}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function registerJobCommands(program: Command): void {
  const job = program.command('job').description('run jobs on agents and watch, cancel or abort them (master side)');
  registerRunCommand(job);

  oneAgent(job.command('status').description('show one job\'s state, exit code and timings').argument('<id>'))
    .action(action(async (id: string, flags: OneAgentFlags) => {
      const record = await withClient(flags, (c) => c.job(validateJobId(id)));
      if (flags.json) printJson(record);
      else printJob(record);
    }));

  oneAgent(job.command('list').description('list the jobs an agent knows'))
    .option('--state <state>', 'only jobs in this state')
    .option('--limit <n>', 'at most this many')
    .action(action(async (flags: OneAgentFlags & { state?: string; limit?: string }) => {
      const limit = flags.limit ? parsePositiveInt(flags.limit, '--limit') : undefined;
      const list = await withClient(flags, (c) => c.list({ ...(flags.state ? { state: flags.state } : {}), ...(limit ? { limit } : {}) }));
      if (flags.json) return printJson(list);
      const jobs = (Array.isArray(list) ? list : ((list as { jobs?: unknown[] }).jobs ?? [])) as Record<string, unknown>[];
      for (const j of jobs) process.stdout.write(`${String(j.id)}  ${String(j.state).padEnd(10)} ${String(j.exitCode ?? '-').padEnd(4)} ${String(j.createdAt ?? '')}\n`);
    }));

  oneAgent(job.command('output').description('print a job\'s output (raw bytes), optionally following it to the end').argument('<id>'))
    .option('--offset <bytes>', 'start at this byte', '0')
    .option('--follow', 'keep streaming until the job ends, resuming after dropped connections')
    .action(action(async (id: string, flags: OneAgentFlags & { offset: string; follow?: boolean }) => {
      if (!/^\d+$/.test(flags.offset)) throw masterError('MASTER_USAGE', '--offset must be a number of bytes');
      const offset = Number(flags.offset);
      await withClient(flags, async (c) => {
        if (flags.follow) {
          const r = await followOutput(c, validateJobId(id), {
            from: offset,
            onData: (d) => process.stdout.write(d),
            onResume: (o, why) => process.stderr.write(`output connection lost (${why}); resuming at byte ${o}\n`),
          });
          if (flags.json) process.stderr.write(`${JSON.stringify({ id, state: r.job.state, exitCode: r.job.exitCode ?? null, bytes: r.bytes })}\n`);
          return;
        }
        const res = await c.output(validateJobId(id), offset, false);
        for await (const chunk of res.body) process.stdout.write(chunk);
      });
    }));

  oneAgent(job.command('templates').description('list the job templates an agent offers, with their inputs and whether you may run each'))
    .action(action(async (flags: OneAgentFlags) => {
      const { templates } = await withClient(flags, (c) => c.templates());
      if (flags.json) return printJson({ templates });
      process.stdout.write(formatTemplates(templates));
    }));

  oneAgent(job.command('whoami').description('show the identity an agent sees for your certificate, the permission rule that matched and what it grants'))
    .action(action(async (flags: OneAgentFlags) => {
      const me = await withClient(flags, (c) => c.whoami());
      if (flags.json) return printJson(me);
      for (const [k, v] of Object.entries(me)) process.stdout.write(`${k.padEnd(12)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`);
    }));

  for (const verb of ['cancel', 'abort'] as const) {
    oneAgent(job.command(verb)
      .description(verb === 'cancel' ? 'SIGTERM the job\'s process group, SIGKILL after the agent\'s grace period' : 'SIGKILL the job\'s whole process group at once')
      .argument('<id>'))
      .action(action(async (id: string, flags: OneAgentFlags) => {
        const record = await withClient(flags, (c) => c[verb](validateJobId(id)));
        if (flags.json) printJson(record);
        else process.stdout.write(`${record.id ?? id}: ${record.state ?? `${verb} requested`}\n`);
      }));
  }
}

/** Both sides' versions first (what an operator compares when something does not fit), then the rest. */
export function formatAgentStatus(status: Record<string, unknown>, master: { version: string; apiVersion: number }): string {
  const lines = [
    `${'agent version'.padEnd(16)} ${String(status.version ?? 'unknown')} (API ${String(status.apiVersion ?? 'unknown')})`,
    `${'master version'.padEnd(16)} ${master.version} (API ${master.apiVersion})`,
  ];
  for (const [k, v] of Object.entries(status)) {
    if (k === 'version' || k === 'apiVersion') continue;
    lines.push(`${k.padEnd(16)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `outpost agent status --agent URL`: what an agent reports about itself, through its gateway. */
export function registerAgentStatusCommand(agent: Command): void {
  oneAgent(agent.command('status').description('show an agent\'s version and API version (and this master\'s), uptime, load and process servers (through its gateway)'))
    .action(action(async (flags: OneAgentFlags) => {
      const status = await withClient(flags, (c) => c.status());
      const master = { version: outpostVersion(), apiVersion: API_VERSION };
      if (flags.json) return printJson({ ...status, master });
      process.stdout.write(formatAgentStatus(status, master));
    }));
}
