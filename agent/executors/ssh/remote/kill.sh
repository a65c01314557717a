# shellcheck shell=sh
# Runs on the target as `sh -c <this> <name> <args>` (remote-scripts.ts, remoteCommand), as the job's user;
# comment lines are not sent. Files per job are under "$HOME/.outpost/jobs" (remote-scripts.ts lists them).
# KILL: signals the job's process group, every process of its session and every descendant of the runner
# (collected before the signal, so children re-parented by it are still found). $1 id, $2 signal.
b="$HOME/.outpost/jobs"
pid=; read -r pid pg sid _ < "$b/$1.pid" 2>/dev/null || { echo "outpost-missing $b/$1.pid" >&2; exit 94; }
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
