import t from 'tap';
import { Command } from 'commander';
import { registerCaCommands } from '../../ca/cli.js';
import { runOutpost } from '../fixtures/cli.js';

function find(program: Command, path: string[]): Command | undefined {
  let cmd: Command | undefined = program;
  for (const name of path) cmd = cmd?.commands.find((c) => c.name() === name);
  return cmd;
}

/** Full help text, including the "after" section commander prints with --help. */
function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.exitOverride();
  try {
    cmd.outputHelp();
  } catch {
    // outputHelp does not throw; exitOverride is belt and braces
  }
  return out;
}

t.test('every ca command has help naming --ca-dir, --json and its password sources', async (t) => {
  const program = new Command('outpost');
  registerCaCommands(program);
  const cmds = [['init'], ['issue', 'connector'], ['issue', 'listener'], ['request'], ['sign'], ['list'], ['export-root'], ['export'], ['import-root'], ['import'], ['revoke'], ['crl'], ['renew']];
  const needsCa = new Set(['init', 'connector', 'listener', 'sign', 'export-root', 'import-root', 'revoke', 'crl', 'renew']);
  const needsFile = new Set(['export-root', 'export', 'import-root', 'import']);
  for (const path of cmds) {
    const cmd = find(program.commands.find((c) => c.name() === 'ca')!, path);
    t.ok(cmd, `ca ${path.join(' ')} exists`);
    if (!cmd) continue;
    const help = helpOf(cmd);
    t.match(help, /--ca-dir/, `${path.join(' ')} has --ca-dir`);
    t.match(help, /--json/, `${path.join(' ')} has --json`);
    const last = path.at(-1) ?? '';
    if (needsCa.has(last)) t.match(help, /--password-file[\s\S]*OUTPOST_CA_PASSWORD/, `${last} names its passphrase sources`);
    if (needsFile.has(last)) t.match(help, /--p12-password-file[\s\S]*OUTPOST_P12_PASSWORD/, `${last} names the file password sources`);
    t.notMatch(help, /--password <|--passphrase </, 'no password option on argv');
  }
});

t.test('the built CLI prints help for a ca command', async (t) => {
  const r = await runOutpost(['ca', 'export-root', '--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /Usage: outpost ca export-root/);
  t.match(r.stdout, /OUTPOST_P12_PASSWORD/);
});
