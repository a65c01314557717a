/**
 * The launcher and per-job supervisor, in Perl (launcher.pl, with shim.pl in front; become.pl under sudo/su) (perl-base, present on every Debian/Ubuntu host and in
 * RHEL's base). Why not Node: a supervisor per job must start in well under a millisecond and stay tiny,
 * and the process that forks it must stay small, because fork() costs ~35–55 µs per MiB of the parent's
 * RSS (docs/agent.md, How jobs run). A Node child costs far more time and memory; this small launcher forks
 * supervisors without an exec. Only core built-ins are used (no modules) so startup is ~3 ms.
 *
 * Launcher protocol (one line each, fields separated by one space, strings as `x` + hex):
 *   agent → launcher  `L <req> <dir> <output> <timeoutSec> <graceSec>:<maxOutputBytes> <mode> <payload> <switch> <arg>…`
 *   launcher → agent  `S <req> <supervisorPid> <startTime>` | `E <req> <message>` | `X <supervisorPid> <waitStatus>`
 *                     | `H <launcherPid> <protocol>` (first line on a socket connection; a launcher from
 *                     before the protocol version sent no `<protocol>`, which reads as 1)
 * The launcher talks over its stdin/stdout (the agent's child), or, given a socket path, listens on a Unix
 * socket (0600) and serves one agent connection at a time: then it is a service of its own, outside the
 * agent's sandbox, and its jobs see the system as their user does (docs/agent.md, "The job sandbox").
 * mode `inline`: the supervisor's job child applies the payload (env, script) itself, then execs argv.
 * mode `stdin`: the payload is piped to the job's stdin (argv starts with sudo/su and ends in the shim).
 * Payload: NUL-joined `clearEnv, cwd, scriptIndex, script, k1, v1, k2, v2…` (NUL cannot occur in exec strings).
 * Switch: NUL-joined argv that runs a program as the job's run-as user (empty: no switch); the supervisor
 * runs killer.pl through it for the job's processes it may not signal itself (EPERM).
 *
 * (`:<maxOutputBytes>` rides on the grace field so that a launcher service still running the previous
 * source reads the grace as before and runs the job uncapped, and a missing one means no cap.)
 *
 * The supervisor: own session; child subreaper (prctl) so double-forked descendants come back to it;
 * the job in its own process group, its stdout/stderr a pipe the supervisor pumps into `<output>`, keeping
 * at most maxOutputBytes and then one marker line (output-cap.ts; the job runs on, the rest is read and
 * dropped); a write the disk refuses cuts the output the same way. Output of processes the job leaves
 * behind is pumped by a forked `outpost-output` process until they close it. Enforces the timeout itself
 * (alarm), so it keeps working when the agent dies; SIGTERM = cancel (TERM, grace, KILL), SIGUSR1 =
 * abort (KILL now); before signalling it records every descendant (by parent chain and process group)
 * in `<dir>/signalled`. Once it has signalled, it re-scans until nothing of the job is left (or a deadline
 * passes) and names what survived; then writes `<dir>/status` atomically (tmp + rename), into a tmp file
 * written at the start, so that a disk filled by then does not lose the job's end.
 */
import { perlConstant, programFile } from '../program-file.js';

const SHIM = programFile('shim.pl', import.meta.url);
const LAUNCHER = programFile('launcher.pl', import.meta.url);

/**
 * Version of the launcher protocol above, announced in the `H` line (kept in launcher.pl). Matters with
 * the launcher service (outpost-launcher.service), which may be of another release than the agent after a
 * partial upgrade: an agent does not use a launcher of a newer protocol (launcher.ts). Raise it only for
 * an incompatible change.
 */
export const LAUNCHER_PROTOCOL = perlConstant(LAUNCHER, 'LAUNCHER_PROTOCOL');

/**
 * Version of the supervisor's `<dir>/status` file (its `v` field, kept in launcher.pl; a file without one
 * reads as 1). A status file of a newer format is not guessed at: the job ends `lost`, saying so
 * (index.ts, readExitStatus).
 */
export const STATUS_FORMAT = perlConstant(LAUNCHER, 'STATUS_FORMAT');

/** The launcher's program, for `perl -e`. */
export const LAUNCHER_SOURCE = `${SHIM}\n${LAUNCHER}`;

/** `perl -e SHIM_MAIN -- argv…` under sudo/su: payload on stdin. */
export const SHIM_MAIN = `${SHIM}\n${programFile('become.pl', import.meta.url)}`;
