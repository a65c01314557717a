/**
 * The remote side of an SSH job: small POSIX sh programs sent with each exec request. Job parameters never
 * become shell text: every value is a separate single-quoted word (`shq`) and reaches the scripts as a
 * positional parameter ("$1"), so no parameter is ever parsed by a shell. Script bodies go over stdin.
 *
 * Files per job, under the effective user's `~/.outpost/jobs/` (0700 via umask):
 *   <id>.out    combined stdout+stderr (appended by the job; the agent copies it from an offset)
 *   <id>.pid    pid of the runner = id of the job's session and process group (setsid)
 *   <id>.exit   the job's exit status, written by the runner when the job ends
 *   <id>.script the script body for kind=script
 *
 * Foreman's "asynchronous SSH" (control + retrieve scripts) is the model; unlike it, the launch exec also
 * follows the output, so a short job costs exactly one exec round trip.
 */

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
 * Prints job output from byte `off` until the runner ends or `slice` seconds pass, then the status line
 * `outpost-end <exit status|running|gone> <size of the output file>` on stderr. `tail --pid` re-reads
 * the file once after the runner dies, so nothing written before the end is missed; the client still
 * compares the size and follows again if it got less (output of stray descendants).
 * Expects: $b (jobs dir), $id, $off, $slice, $pid, $interval.
 */
const FOLLOW = `
o="$b/$id.out"; x="$b/$id.exit"
if [ ! -s "$x" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  timeout "$slice" tail -c +"$((off + 1))" -f -s "$interval" --pid="$pid" "$o"
else
  tail -c +"$((off + 1))" "$o"
fi
if [ -s "$x" ]; then read -r st < "$x"
elif [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  st=running
  # A runner whose parent is gone may linger as a zombie when PID 1 does not reap: it has ended.
  s=; read -r s < "/proc/$pid/stat" 2>/dev/null || s=
  case $s in *") Z "*) st=gone ;; esac
else st=gone
fi
printf 'outpost-end %s %s\\n' "$st" "$(wc -c < "$o")" >&2
`;

/**
 * Runs detached in its own session (setsid): exports the environment, changes directory, runs the job
 * with output appended to <id>.out, and records the exit status. It survives SIGTERM (trap) so that a
 * cancelled job's exit status is still written; the job itself gets the default handling.
 * $1 jobs dir, $2 id, $3 mode, $4 cwd ('' = home), $5 login profile (1/0), then NAME=VALUE… -- argv…
 */
export const RUNNER = `
b=$1 id=$2 mode=$3 cwd=$4 profile=$5; shift 5
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do export "$1"; shift; done
shift
trap : TERM INT
o="$b/$id.out"
if [ "$mode" = script ]; then i=$1; shift; set -- "$i" "$b/$id.script" "$@"; fi
if [ "$profile" = 1 ]; then set -- /bin/sh -lc 'exec "$@"' sh "$@"; fi
if [ -n "$cwd" ]; then
  cd "$cwd" 2>/dev/null || { printf 'outpost: cannot change directory to %s\\n' "$cwd" >> "$o"; echo 126 > "$b/$id.exit"; exit 126; }
else cd 2>/dev/null || cd /
fi
"$@" >> "$o" 2>&1 < /dev/null
rc=$?
echo "$rc" > "$b/$id.exit"
exit "$rc"
`;

/**
 * Creates the job's files (refusing an id that exists), starts the runner detached, prints
 * `outpost-started <pid>` on stderr and then follows the output like ATTACH.
 * $1 runner program, $2 id, $3 slice, $4 interval, then the runner's arguments from mode on.
 */
export const LAUNCH = `
umask 077
runner=$1 id=$2 slice=$3 interval=$4; shift 4
b=${JOBS_DIR}
[ -d "$b" ] || mkdir -p "$b" || { echo "outpost-error cannot create $b" >&2; exit 90; }
set -C
# "true", not ":": a failed redirection on a special builtin would end the whole shell.
true 2>/dev/null > "$b/$id.out" || { echo "outpost-error job files for $id already exist in $b" >&2; exit 91; }
set +C
if [ "$1" = script ]; then cat > "$b/$id.script" || { echo "outpost-error cannot write $b/$id.script" >&2; exit 92; }; fi
setsid /bin/sh -c "$runner" outpost-runner "$b" "$id" "$@" < /dev/null > /dev/null 2>&1 &
pid=$!
echo "$pid" > "$b/$id.pid"
echo "outpost-started $pid" >&2
off=0
${FOLLOW}`;

/** $1 id, $2 offset, $3 slice, $4 interval. */
export const ATTACH = `
id=$1 off=$2 slice=$3 interval=$4
b=${JOBS_DIR}
[ -f "$b/$id.out" ] || { echo "outpost-missing $b/$id.out" >&2; exit 93; }
pid=; read -r pid < "$b/$id.pid" 2>/dev/null || pid=
${FOLLOW}`;

/**
 * Signals the job's process group, every process of its session and every descendant of the runner
 * (collected before the signal, so children re-parented by it are still found). $1 id, $2 signal.
 */
export const KILL = `
b=${JOBS_DIR}
pid=; read -r pid < "$b/$1.pid" 2>/dev/null || { echo "outpost-missing $b/$1.pid" >&2; exit 94; }
case $pid in ''|*[!0-9]*) echo "outpost-error bad pid file" >&2; exit 94 ;; esac
list=$(ps -A -o pid= -o ppid= -o sid= | awk -v root="$pid" '
  { parent[$1] = $2; if ($3 == root) want[$1] = 1 }
  END { want[root] = 1; grew = 1
        while (grew) { grew = 0; for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; grew = 1 } }
        for (p in want) print p }')
kill -s "$2" -- "-$pid" 2>/dev/null
for p in $list; do kill -s "$2" "$p" 2>/dev/null; done
echo "outpost-signalled" >&2
`;

/** Removes finished jobs' files. $@ ids. */
export const CLEANUP = `
b=${JOBS_DIR}
cd "$b" 2>/dev/null || exit 0
for id in "$@"; do rm -f "$id.out" "$id.pid" "$id.exit" "$id.script"; done
`;

export interface RemoteUser {
  /** Login user of the SSH connection. */
  readonly login: string;
  /** Effective user of the job; sudo is used when it differs from `login`. */
  readonly effective: string;
}

/**
 * Wraps a program in `/bin/sh -c`, under `sudo -n -H -u USER` when the job runs as another user, so the
 * wrapper, its files and the kill all act as the job's user. The login shell only ever sees quoted words.
 */
export function remoteCommand(user: RemoteUser, program: string, name: string, args: readonly string[]): string {
  const sh = ['/bin/sh', '-c', program, name, ...args];
  const words = user.effective === user.login ? sh : ['sudo', '-n', '-H', '-u', user.effective, '--', ...sh];
  return `exec ${commandLine(words)}`;
}
