import t from 'tap';
import { parseAgentConfig } from '../../agent/config.js';
import { checkInput, expandTemplate, templateView, type Template } from '../../agent/templates.js';
import { OutpostError } from '../../core/errors.js';

const base = { listen: { socket: '/run/outpost/agent.sock' }, dataDir: '/var/lib/outpost/agent' };

/** Templates as agent.yaml gives them, through the real config parser (defaults filled in, frozen). */
function templates(list: unknown[]): readonly Template[] {
  return parseAgentConfig({ ...base, templates: list }).templates;
}

const [diskUsage, say, archive, deploy] = templates([
  { name: 'disk-usage', description: 'disk usage of one path', argv: ['df', '-h', '{{path}}'], inputs: { path: { type: 'string', pattern: '^/[A-Za-z0-9/_.-]*$', default: '/' } } },
  { name: 'say', command: 'printf "%s\\n" "$MSG"', inputs: { MSG: { type: 'string', pattern: '.{0,200}' } } },
  {
    name: 'archive', script: 'tar -czf "$1" "$DIR"', interpreter: '/bin/sh', args: ['{{OUT}}'],
    inputs: { OUT: { type: 'string', pattern: '/tmp/[a-z]+\\.tgz' }, DIR: { type: 'string', pattern: '/srv/[a-z]+' }, KEEP: { type: 'integer', min: 1, max: 30, default: 7 }, DRY: { type: 'boolean', default: false } },
  },
  { name: 'deploy', argv: ['/usr/local/bin/deploy', '{{ENVIRONMENT}}'], runAs: 'batch', timeoutSeconds: 600, inputs: { ENVIRONMENT: { type: 'enum', values: ['staging', 'production'] }, TOKEN: { type: 'secret', credentialKeys: ['deploy-token'] } } },
]) as [Template, Template, Template, Template];

function refusal(fn: () => unknown): { code: string; details: { input: string; rule: string } } {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutpostError) return err as unknown as { code: string; details: { input: string; rule: string } };
    throw err;
  }
  throw new Error('expected a refusal');
}

t.test('ok: an argv template puts the input in one whole argv word and in the environment', async (t) => {
  const { job, record } = expandTemplate(diskUsage, { path: '/srv/data' });
  t.same(job.argv, ['df', '-h', '/srv/data']);
  t.same(job.env, { path: '/srv/data' });
  t.same(record, { name: 'disk-usage', inputs: { path: '/srv/data' } });
  t.same(expandTemplate(diskUsage, {}).job.argv, ['df', '-h', '/'], 'the default fills a missing input');
});

t.test('ok: a command template sees inputs only as environment variables; its text is never changed', async (t) => {
  const hostile = '$(touch /tmp/pwned); `id`; rm -rf /';
  t.same(checkInput('MSG', say.inputs.MSG!, hostile, false), { value: hostile }, 'the pattern allows it: it is only ever data');
  const { job } = expandTemplate(say, { MSG: hostile });
  t.equal(job.command, 'printf "%s\\n" "$MSG"', 'the command text is the template\'s, byte for byte');
  t.same(job.env, { MSG: hostile });
});

t.test('ok: integers and booleans come as numbers or as the strings a command line sends', async (t) => {
  const { job, record } = expandTemplate(archive, { OUT: '/tmp/a.tgz', DIR: '/srv/app', KEEP: '12', DRY: 'true' });
  t.same(job.args, ['/tmp/a.tgz']);
  t.same(job.env, { OUT: '/tmp/a.tgz', DIR: '/srv/app', KEEP: '12', DRY: 'true' });
  t.same(record.inputs, { OUT: '/tmp/a.tgz', DIR: '/srv/app', KEEP: 12, DRY: true });
});

t.test('ok: a secret input becomes secretEnv (the value stays in the credential store) and is masked in the record', async (t) => {
  const { job, record } = expandTemplate(deploy, { ENVIRONMENT: 'staging', TOKEN: 'deploy-token' });
  t.same(job.secretEnv, { TOKEN: 'deploy-token' });
  t.notOk('TOKEN' in job.env);
  t.same(record.inputs, { ENVIRONMENT: 'staging', TOKEN: '***' });
  t.equal(job.runAs, 'batch');
  t.equal(job.timeoutSeconds, 600);
});

t.test('fail/inputs: each refusal names the input and the rule it broke', async (t) => {
  const cases: [Template, Record<string, unknown>, string, string, string][] = [
    [diskUsage, { path: 'relative' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'path', 'pattern'],
    [diskUsage, { path: '/srv;rm -rf /' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'path', 'pattern'],
    [diskUsage, { path: '/ok\n/etc' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'path', 'pattern'],
    [diskUsage, { path: 42 }, 'AGENT_TEMPLATE_INPUT_INVALID', 'path', 'type'],
    [diskUsage, { path: `/${'a'.repeat(2000)}` }, 'AGENT_TEMPLATE_INPUT_INVALID', 'path', 'maxLength'],
    [diskUsage, { paht: '/srv' }, 'AGENT_TEMPLATE_INPUT_UNKNOWN', 'paht', 'unknown'],
    [say, {}, 'AGENT_TEMPLATE_INPUT_MISSING', 'MSG', 'required'],
    [say, { MSG: 'x'.repeat(201) }, 'AGENT_TEMPLATE_INPUT_INVALID', 'MSG', 'pattern'],
    [say, { MSG: 'two\nlines' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'MSG', 'pattern'],
    [archive, { OUT: '-rf', DIR: '/srv/app' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'OUT', 'pattern'],
    [archive, { OUT: '/tmp/a.tgz', DIR: '/srv/app', KEEP: 31 }, 'AGENT_TEMPLATE_INPUT_INVALID', 'KEEP', 'max'],
    [archive, { OUT: '/tmp/a.tgz', DIR: '/srv/app', KEEP: '1.5' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'KEEP', 'type'],
    [archive, { OUT: '/tmp/a.tgz', DIR: '/srv/app', DRY: 'yes' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'DRY', 'type'],
    [deploy, { ENVIRONMENT: 'prod' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'ENVIRONMENT', 'enum'],
    [deploy, { ENVIRONMENT: 'staging', TOKEN: 'root-password' }, 'AGENT_TEMPLATE_INPUT_INVALID', 'TOKEN', 'credentialKeys'],
  ];
  for (const [template, inputs, code, input, rule] of cases) {
    const e = refusal(() => expandTemplate(template, inputs));
    t.match(e, { code, details: { input, rule } }, `${template.name} ${JSON.stringify(inputs).slice(0, 60)}`);
  }
});

t.test('fail/option-like: a value starting with "-" never becomes an argv word unless the input allows it', async (t) => {
  const [loose] = templates([{ name: 'ls', argv: ['ls', '{{ARG}}'], inputs: { ARG: { type: 'string', pattern: '.{1,20}' } } }]) as [Template];
  t.match(refusal(() => expandTemplate(loose, { ARG: '-rf' })), { details: { input: 'ARG', rule: 'option-like' } });
  t.same(expandTemplate(loose, { ARG: 'x-rf' }).job.argv, ['ls', 'x-rf']);
  const [allowed] = templates([{ name: 'ls', argv: ['ls', '{{ARG}}'], inputs: { ARG: { type: 'string', pattern: '.{1,20}', allowOptionLike: true } } }]) as [Template];
  t.same(expandTemplate(allowed, { ARG: '-l' }).job.argv, ['ls', '-l']);
  // The same value is only data when the job reads it from the environment.
  t.same(expandTemplate(say, { MSG: '-rf' }).job.env, { MSG: '-rf' });
});

t.test('ok: GET /v1/templates shows what a template runs and what it asks for', async (t) => {
  t.match(templateView(diskUsage), { name: 'disk-usage', kind: 'argv', argv: ['df', '-h', '{{path}}'], inputs: [{ name: 'path', type: 'string', required: false, default: '/' }] });
  t.match(templateView(archive), { kind: 'script', scriptBytes: 20, interpreter: '/bin/sh' });
  t.notOk('script' in templateView(archive), 'a script\'s text is not listed, only its size');
});

t.test('fail/config: a template that could splice an input into shell text fails at start, naming the key', async (t) => {
  const bad = (template: Record<string, unknown>): string => {
    try {
      parseAgentConfig({ ...base, templates: [template] });
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  t.match(bad({ name: 'x', command: 'echo {{MSG}}', inputs: { MSG: { type: 'string', pattern: '.*' } } }), /templates\[0\]\.command: inputs are never spliced into shell text/);
  t.match(bad({ name: 'x', script: 'rm -rf {{DIR}}', inputs: { DIR: { type: 'string', pattern: '.*' } } }), /templates\[0\]\.script: inputs are never spliced/);
  t.match(bad({ name: 'x', argv: ['cp', '--to={{D}}'], inputs: { D: { type: 'string', pattern: '.*' } } }), /templates\[0\]\.argv\[1\]: an input fills a whole word/);
  t.match(bad({ name: 'x', argv: ['cp', '{{NOPE}}'] }), /templates\[0\]\.argv\[1\]: \{\{NOPE\}\} names no input/);
  t.match(bad({ name: 'x', argv: ['login', '{{PW}}'], inputs: { PW: { type: 'secret', credentialKeys: ['k'] } } }), /argv\[1\]: secret input PW may not be an argv word/);
  t.match(bad({ name: 'x', argv: ['ls'], inputs: { PATH: { type: 'string', pattern: '.*' } } }), /templates\[0\]\.inputs\.PATH: PATH is reserved/);
  t.match(bad({ name: 'x', argv: ['ls'], inputs: { LD_PRELOAD: { type: 'string', pattern: '.*' } } }), /inputs\.LD_PRELOAD: LD_PRELOAD is reserved/);
  t.match(bad({ name: 'x', argv: ['ls'], inputs: { A: { type: 'string' } } }), /templates\[0\]\.inputs\.A\.pattern/);
  t.match(bad({ name: 'x', argv: ['ls'], inputs: { A: { type: 'string', pattern: '(' } } }), /inputs\.A\.pattern: not a valid regular expression/);
  t.match(bad({ name: 'x', argv: ['ls'], inputs: { A: { type: 'string', pattern: '[a-z]+', default: 'A1' } } }), /inputs\.A\.default: breaks its own rule \(pattern\)/);
  t.match(bad({ name: 'x', argv: ['ls', '{{A}}'], inputs: { A: { type: 'string', pattern: '.*', required: false } } }), /argv\[1\]: \{\{A\}\} needs a value/);
  t.match(bad({ name: 'x', argv: ['ls'], command: 'ls' }), /templates\[0\]: give exactly one of argv, command or script/);
  t.match(bad({ name: 'x', argv: ['ls'], processServer: 'db01' }), /templates\[0\]\.processServer: no process server named db01/);
  t.match(bad({ name: 'x', argv: ['ls'], inputs: { A: { type: 'integer', min: 5, max: 1 } } }), /inputs\.A\.min: is above max/);
  t.match(bad({ name: 'x', argv: ['ls'], inputs: { A: { type: 'colour' } } }), /templates\[0\]\.inputs\.A\.type/);
  t.match(bad({ name: 'x', argv: ['ls'], surprise: 1 }), /templates\[0\]\.surprise: unknown key/);
});

t.test('ok: a pattern matches the whole value, not a part of it', async (t) => {
  const [tpl] = templates([{ name: 'x', argv: ['ls', '{{A}}'], inputs: { A: { type: 'string', pattern: '[a-z]+' } } }]) as [Template];
  t.match(refusal(() => expandTemplate(tpl, { A: 'abc; rm -rf /' })), { details: { rule: 'pattern' } });
  t.same(expandTemplate(tpl, { A: 'abc' }).job.argv, ['ls', 'abc']);
});
