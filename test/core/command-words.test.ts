import t from 'tap';
import { runsCommand } from '../../core/command-words.js';
import { startsDaemon } from '../../agent/heap-settings.js';

t.test('a command is known by its words, whatever options come between', async (t) => {
  t.ok(runsCommand(['node', 'cli.js', '--debug', 'agent', 'start', '--config', 'a.yaml'], 'agent', 'start'));
  t.notOk(runsCommand(['node', 'cli.js', 'agent', 'status'], 'agent', 'start'));
  t.notOk(runsCommand(['node', 'cli.js', 'agent'], 'agent', 'start'), 'a word missing');
  t.notOk(runsCommand(['node', 'cli.js', 'job', 'run', '--', 'agent', 'start'], 'agent', 'start'), 'words of a job are not the command');
  t.ok(startsDaemon(['node', 'cli.js', 'agent', 'start']), 'the agent daemon');
  t.notOk(startsDaemon(['node', 'cli.js', 'agent', 'launcher']), 'not the launcher');
});
