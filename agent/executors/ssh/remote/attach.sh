# shellcheck shell=sh
# Runs on the target as `sh -c <this> <name> <args>` (remote-scripts.ts, remoteCommand), as the job's user;
# comment lines are not sent. Files per job are under "$HOME/.outpost/jobs" (remote-scripts.ts lists them).
# ATTACH: prints job output from byte $2 until the job (or its runner) ends or $3 seconds pass, then
# `outpost-end <exit status|running|gone> <size of the output file>` on stderr. `tail --pid` re-reads the
# file once after the runner dies; the client still compares the size and follows again if it got less.
# $1 id, $2 offset, $3 slice seconds, $4 poll interval.
id=$1 off=$2 slice=$3 interval=$4
b="$HOME/.outpost/jobs"
o="$b/$id.out" x="$b/$id.exit"
[ -f "$o" ] || { echo "outpost-missing $o" >&2; exit 93; }
pid=; read -r pid _ _ rc < "$b/$id.pid" 2>/dev/null || pid=
if [ ! -s "$x" ] && [ -z "$rc" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  timeout "$slice" tail -c +"$((off + 1))" -f -s "$interval" --pid="$pid" "$o"
else
  tail -c +"$((off + 1))" "$o"
fi
i=0
while :; do
  if [ -s "$x" ]; then read -r st < "$x"; break; fi
  rc=; read -r pid _ _ rc < "$b/$id.pid" 2>/dev/null || rc=
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
printf 'outpost-end %s %s
' "$st" "$(wc -c < "$o")" >&2
