/**
 * The remote side of an SSH job: small POSIX sh programs sent with each exec request. Job parameters never
 * become shell text: every value is a separate single-quoted word (`shq`) and reaches the scripts as a
 * positional parameter ("$1"), so no parameter is ever parsed by a shell. Script bodies go over stdin.
 *
 * Files per job, under the effective user's `~/.outpost/jobs/` (0700 via umask):
 *   <id>.out    combined stdout+stderr (the agent copies it from an offset)
 *   <id>.pid    "<pid> <process group> <session>" of the job: its runner shell's (this wrapper) or, from the
 *               launcher (launcher-source.ts), the job's own — plus " <exit status>" once a launcher job ended
 *   <id>.exit   the job's exit status, written once the job and its output are complete (this wrapper)
 *   <id>.rc     the job's exit status before its output is complete (copied to <id>.exit then)
 *   <id>.script the script body for kind=script
 *   <id>.params the job's argv and environment as shell text, until the job's shell has read it (LAUNCH)
 *
 * Foreman's "asynchronous SSH" (control + retrieve scripts) is the model. Unlike it, the launch exec also
 * streams the output (through `tee -p`, which keeps writing the file when the channel is gone), so a short
 * job costs exactly one exec round trip and no polling. After a dropped connection or an agent restart,
 * ATTACH follows the file from the last byte the agent has.
 */

import type { JobPlan } from './job-plan.js';

/** POSIX single-quoting: the only character that needs care inside '…' is ' itself. */
export function shq(value: string): string {
  if (value.includes('\0')) throw new Error('NUL byte cannot be passed to a remote command');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** One command line from fixed program words and untrusted values, each quoted. */
export function commandLine(words: readonly string[]): string {
  return words.map(shq).join(' ');
}

const JOBS_DIR = '"$HOME/.outpost/jobs"';

/**
 * Creates the job's files (refusing an id that exists), runs the job in a background subshell with its
 * output teed to <id>.out and to this channel, prints `outpost-started <pid>` and, when the job has
 * ended, `outpost-end <exit status|gone> -` on stderr.
 *
 * The job's argv and environment come on stdin as shell text (jobParams), never on this command line:
 * sshd and sudo put the command line in argv, which `ps` shows to every user of the target, and a line
 * longer than sshd's packet limit makes it drop the connection. The text is read into <id>.params (0600),
 * removed as soon as the job's shell has read it, and evaluated in the job's own subshell, so names in the
 * job's environment cannot change this wrapper's variables.
 *
 * The job stays in this exec's session and process group (sshd makes one per exec; no pty, so nothing
 * signals them when the connection drops) and is recorded by runner pid, group and session for KILL.
 * The runner, the launch shell and tee survive SIGTERM so that a cancelled job's last words and exit
 * status are still recorded; the job itself gets default signal handling (traps reset on exec).
 * $1 id, $2 mode (command|argv|script), $3 cwd ('' = home), $4 length of the parameters and $5 of the
 * script in bytes (either cut short by a dropped connection is refused, never run); stdin: both.
 */
export const LAUNCH = `
umask 077
id=$1 mode=$2 cwd=$3 plen=$4 len=$5
b=${JOBS_DIR}
o="$b/$id.out" x="$b/$id.exit" p="$b/$id.params"
[ -d "$b" ] || mkdir -p "$b" || { echo "outpost-error cannot create $b" >&2; exit 90; }
set -C
# "true", not ":": a failed redirection on a special builtin would end the whole shell.
true 2>/dev/null > "$o" || { echo "outpost-error job files for $id already exist in $b" >&2; exit 91; }
set +C
# head -c reads no further than asked, so the script that follows stays on stdin for cat.
head -c "$plen" > "$p" && [ "$(($(wc -c < "$p")))" = "$plen" ] || { rm -f "$o" "$p"; echo "outpost-error the job's parameters arrived incomplete" >&2; exit 92; }
if [ "$mode" = script ]; then
  cat > "$b/$id.script" || { rm -f "$o" "$p" "$b/$id.script"; echo "outpost-error cannot write $b/$id.script" >&2; exit 92; }
  [ "$(($(wc -c < "$b/$id.script")))" = "$len" ] || { rm -f "$o" "$p" "$b/$id.script"; echo "outpost-error the script arrived incomplete" >&2; exit 92; }
fi
(
  trap : TERM INT
  {
    trap : TERM INT
    if [ -n "$cwd" ]; then
      cd "$cwd" 2>/dev/null || { rm -f "$p"; printf 'outpost: cannot change directory to %s\n' "$cwd"; echo 126 > "$b/$id.rc"; exit; }
    else cd 2>/dev/null || cd /
    fi
    (params=$(cat "$p") && rm -f "$p" && eval "$params" && exec "$@") 2>&1 < /dev/null
    echo "$?" > "$b/$id.rc"
  } | (trap '' TERM INT; exec tee -p -a "$o")
  rc=; read -r rc < "$b/$id.rc" 2>/dev/null
  [ -n "$rc" ] && echo "$rc" > "$x"
) < /dev/null 2> /dev/null &
pid=$!
ids() { set -f; set -- $1; set +f; pg=$3 sid=$4; }
pg=$$ sid=$$
if read -r st < "/proc/$$/stat" 2>/dev/null; then ids "\${st##*) }"; fi
echo "$pid $pg $sid" > "$b/$id.pid"
echo "outpost-started $pid" >&2
trap : TERM INT
while :; do wait "$pid"; kill -0 "$pid" 2>/dev/null || break; done
if [ -s "$x" ]; then read -r st < "$x"; else st=gone; fi
printf 'outpost-end %s -\n' "$st" >&2
`;

/**
 * LAUNCH's parameters: the job's argv (`set --`, with the script file after the interpreter and a login
 * shell in front for loginProfile) and its environment (`export`), every value a single-quoted word, then
 * the script body. Evaluated by LAUNCH in the job's subshell, where `$b/$id.script` is the script file.
 */
export function launchInput(plan: JobPlan): { args: string[]; stdin: string } {
  const [first = '', ...rest] = plan.argv;
  const program = plan.mode === 'script' ? `${shq(first)} "$b/$id.script" ${commandLine(rest)}` : commandLine(plan.argv);
  const profile = plan.loginProfile ? `${commandLine(['/bin/sh', '-lc', 'exec "$@"', 'sh'])} ` : '';
  const exports = plan.env.map((pair) => {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    // Names were checked by planJob; checked again because this one becomes shell text unquoted.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad environment variable name ${JSON.stringify(name)}`);
    return `export ${name}=${shq(pair.slice(eq + 1))}\n`;
  });
  const params = `set -- ${profile}${program}\n${exports.join('')}`;
  const script = plan.stdin ?? '';
  return {
    args: [plan.mode, plan.cwd, String(Buffer.byteLength(params)), String(Buffer.byteLength(script))],
    stdin: params + script,
  };
}

/**
 * Prints job output from byte $2 until the job (or its runner) ends or $3 seconds pass, then
 * `outpost-end <exit status|running|gone> <size of the output file>` on stderr. `tail --pid` re-reads the
 * file once after the runner dies; the client still compares the size and follows again if it got less.
 * $1 id, $2 offset, $3 slice seconds, $4 poll interval.
 */
export const ATTACH = `
id=$1 off=$2 slice=$3 interval=$4
b=${JOBS_DIR}
o="$b/$id.out" x="$b/$id.exit"
[ -f "$o" ] || { echo "outpost-missing $o" >&2; exit 93; }
pid=; read -r pid pg sid rc < "$b/$id.pid" 2>/dev/null || pid=
if [ ! -s "$x" ] && [ -z "$rc" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  timeout "$slice" tail -c +"$((off + 1))" -f -s "$interval" --pid="$pid" "$o"
else
  tail -c +"$((off + 1))" "$o"
fi
i=0
while :; do
  if [ -s "$x" ]; then read -r st < "$x"; break; fi
  rc=; read -r pid pg sid rc < "$b/$id.pid" 2>/dev/null || rc=
  if [ -n "$rc" ]; then st=$rc; break; fi
  up=
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    up=1
    # A process whose parent is gone may linger as a zombie when PID 1 does not reap: it has ended.
    s=; read -r s < "/proc/$pid/stat" 2>/dev/null || s=
    case $s in *") Z "*) up= ;; esac
  fi
  if [ -n "$up" ]; then st=running; break; fi
  # Ended without a status yet: a launcher writes it just after reaping the job; give it a second.
  if [ "$i" -ge 10 ]; then st=gone; break; fi
  sleep 0.1; i=$((i + 1))
done
printf 'outpost-end %s %s\n' "$st" "$(wc -c < "$o")" >&2
`;

/**
 * After a connection died during launch: waits briefly for the job's pid file and answers
 * `outpost-started <pid>` or `outpost-not-started`. $1 id.
 */
export const PROBE = `
b=${JOBS_DIR}
i=0
while [ ! -s "$b/$1.pid" ] && [ -f "$b/$1.out" ] && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if read -r pid pg sid rc < "$b/$1.pid" 2>/dev/null; then echo "outpost-started $pid" >&2
else rm -f "$b/$1.out" "$b/$1.script" "$b/$1.params"; echo "outpost-not-started" >&2
fi
`;

/**
 * Signals the job's process group, every process of its session and every descendant of the runner
 * (collected before the signal, so children re-parented by it are still found). $1 id, $2 signal.
 */
export const KILL = `
b=${JOBS_DIR}
pid=; read -r pid pg sid rc < "$b/$1.pid" 2>/dev/null || { echo "outpost-missing $b/$1.pid" >&2; exit 94; }
for v in "$pid" "$pg" "$sid"; do case $v in ''|*[!0-9]*) echo "outpost-error bad pid file" >&2; exit 94 ;; esac; done
# Members of the group are signalled once, through the group; the list holds only the others, so a job
# that traps the signal runs its handler once.
list=$(ps -A -o pid= -o ppid= -o pgid= -o sid= | awk -v root="$pid" -v pg="$pg" -v sid="$sid" '
  { parent[$1] = $2; group[$1] = $3; if ($3 == pg || $4 == sid) want[$1] = 1 }
  END { want[root] = 1; grew = 1
        while (grew) { grew = 0; for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; grew = 1 } }
        for (p in want) if (group[p] != pg) print p }')
kill -s "$2" -- "-$pg" 2>/dev/null
for p in $list; do kill -s "$2" "$p" 2>/dev/null; done
echo "outpost-signalled" >&2
`;

/**
 * Removes finished jobs' files ($@ ids), and files of jobs that finished over a week ago and were never
 * cleaned (the agent stopped before it got to them).
 */
export const CLEANUP = `
b=${JOBS_DIR}
cd "$b" 2>/dev/null || exit 0
for id in "$@"; do rm -f "$id.out" "$id.pid" "$id.exit" "$id.rc" "$id.script" "$id.params"; done
find . -maxdepth 1 -name '*.exit' -mtime +7 2>/dev/null | while read -r f; do
  id=\${f#./}; id=\${id%.exit}
  rm -f "$id.out" "$id.pid" "$id.exit" "$id.rc" "$id.script" "$id.params"
done
`;

export interface RemoteUser {
  /** Login user of the SSH connection. */
  readonly login: string;
  /** Effective user of the job; sudo is used when it differs from `login`. */
  readonly effective: string;
  /** The login user's shell as sshd reports it, when known (see SshPool.loginShell). */
  readonly loginShell?: string;
}

/** Login shells that are the POSIX sh we would exec anyway: the program can run in them directly. */
const PLAIN_SH = new Set(['/bin/sh', '/usr/bin/sh', '/bin/dash', '/usr/bin/dash']);

/**
 * Wraps a program in `/bin/sh -c`, under `sudo -n -H -u USER` when the job runs as another user, so the
 * wrapper, its files and the kill all act as the job's user. The login shell only ever sees quoted words.
 * When the login shell already is a plain sh and no user switch is needed, the program runs in it with
 * its parameters set by `set --` (quoted words too): one exec less per job on the target.
 */
export function remoteCommand(user: RemoteUser, program: string, name: string, args: readonly string[]): string {
  if (user.effective === user.login && user.loginShell !== undefined && PLAIN_SH.has(user.loginShell)) {
    return `set -- ${commandLine(args)}\n${program}`;
  }
  const sh = ['/bin/sh', '-c', program, name, ...args];
  const words = user.effective === user.login ? sh : ['sudo', '-n', '-H', '-u', user.effective, '--', ...sh];
  return `exec ${commandLine(words)}`;
}
