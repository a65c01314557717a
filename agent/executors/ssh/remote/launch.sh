# shellcheck shell=sh
# Runs on the target as `sh -c <this> <name> <args>` (remote-scripts.ts, remoteCommand), as the job's user;
# comment lines are not sent. Files per job are under "$HOME/.outpost/jobs" (remote-scripts.ts lists them).
# LAUNCH: creates the job's files (refusing an id that exists), runs the job in a background subshell with
# its output teed to <id>.out and to this channel, prints `outpost-started <pid>` and, when the job has
# ended, `outpost-end <exit status|gone> -` on stderr.
#
# The job's argv and environment come on stdin as shell text (remote-scripts.ts, launchInput), never on
# this command line: sshd and sudo put the command line in argv, which `ps` shows to every user of the
# target, and a line longer than sshd's packet limit makes it drop the connection. The text is read into
# <id>.params (0600), removed as soon as the job's shell has read it, and evaluated in the job's own
# subshell, so names in the job's environment cannot change this wrapper's variables.
#
# The job stays in this exec's session and process group (sshd makes one per exec; no pty, so nothing
# signals them when the connection drops) and is recorded by runner pid, group and session for KILL.
# The runner, the launch shell and tee survive SIGTERM so that a cancelled job's last words and exit
# status are still recorded; the job itself gets default signal handling (traps reset on exec).
# $1 id, $2 mode (command|argv|script), $3 cwd ('' = home), $4 length of the parameters and $5 of the
# script in bytes (either cut short by a dropped connection is refused, never run); stdin: both.
umask 077
id=$1 mode=$2 cwd=$3 plen=$4 len=$5
b="$HOME/.outpost/jobs"
o="$b/$id.out" x="$b/$id.exit" p="$b/$id.params"
[ -d "$b" ] || mkdir -p "$b" || { echo "outpost-error cannot create $b" >&2; exit 90; }
set -C
# "true", not ":": a failed redirection on a special builtin would end the whole shell.
true 2>/dev/null > "$o" || { echo "outpost-error job files for $id already exist in $b" >&2; exit 91; }
set +C
# shellcheck disable=SC2015 # C runs when A or B fails, as meant
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
      cd "$cwd" 2>/dev/null || { rm -f "$p"; printf 'outpost: cannot change directory to %s
' "$cwd"; echo 126 > "$b/$id.rc"; exit; }
    else cd 2>/dev/null || cd /
    fi
    (params=$(cat "$p") && rm -f "$p" && eval "$params" && exec "$@") 2>&1 < /dev/null
    echo "$?" > "$b/$id.rc"
  } | (trap '' TERM INT; exec tee -p -a "$o")
  rc=; read -r rc < "$b/$id.rc" 2>/dev/null
  [ -n "$rc" ] && echo "$rc" > "$x"
) < /dev/null 2> /dev/null &
pid=$!
# shellcheck disable=SC2086 # split on purpose: the fields of /proc/<pid>/stat
ids() { set -f; set -- $1; set +f; pg=$3 sid=$4; }
pg=$$ sid=$$
if read -r st < "/proc/$$/stat" 2>/dev/null; then ids "${st##*) }"; fi
echo "$pid $pg $sid" > "$b/$id.pid"
echo "outpost-started $pid" >&2
trap : TERM INT
while :; do wait "$pid"; kill -0 "$pid" 2>/dev/null || break; done
if [ -s "$x" ]; then read -r st < "$x"; else st=gone; fi
printf 'outpost-end %s -
' "$st" >&2
