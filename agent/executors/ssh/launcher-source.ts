/**
 * The remote launcher (launcher.pl): one long-lived Perl process per connection and effective user, started on an exec
 * channel, that starts jobs from requests on its stdin and streams their output and exit status back on
 * its stdout. Per job the target forks once and execs the job: no sshd session, login shell, `tee` or
 * runner shell per job. Perl because the target must fork and call setsid() without an exec in between;
 * `perl-base` is on every Debian/Ubuntu host and in RHEL's base, and targets without perl fall back to
 * the per-job exec wrapper (remote-scripts.ts). Only strict, warnings, POSIX and Fcntl are loaded (all in perl-base).
 *
 * Each job runs in its own session and process group and is the launcher's child; the launcher keeps its
 * files next to the shell wrapper's (`<id>.out`, `<id>.pid` with the exit status added at the end,
 * `<id>.script`, under ~/.outpost/jobs), so ATTACH, KILL, PROBE and CLEANUP work on either kind of job. When the channel goes
 * (connection dropped, agent restarted), the launcher stops talking but stays until its last job has ended,
 * to record the exit statuses; the agent follows those jobs with ATTACH meanwhile.
 *
 * Protocol (see launcher-protocol.ts): one request per line, strings as `x` + hex, so nothing is parsed
 * by a shell:
 *   agent → launcher  `R <id> <flags> <cwd> <script|-> <nenv> <NAME=VALUE>… <argv>…`   (flags: `p` = login profile)
 *   launcher → agent  `V 1` once ready; `S <id> <job pid>`; `E <id> <message>`;
 *                     `O <id> <n>` + n bytes of output; `X <id> <exit status> <bytes sent>`.
 */
import { programFile } from '../program-file.js';

export const LAUNCHER_PERL = programFile('launcher.pl', import.meta.url);

/** Arguments to perl that run the launcher. */
export const LAUNCHER_ARGS: readonly string[] = ['-e', LAUNCHER_PERL];
