# shellcheck shell=sh
# Runs on the target as `sh -c <this> <name> <args>` (remote-scripts.ts, remoteCommand), as the job's user;
# comment lines are not sent. Files per job are under "$HOME/.outpost/jobs" (remote-scripts.ts lists them).
# PROBE, after a connection died during launch: waits briefly for the job's pid file and answers
# `outpost-started <pid>` or `outpost-not-started`. $1 id.
b="$HOME/.outpost/jobs"
i=0
while [ ! -s "$b/$1.pid" ] && [ -f "$b/$1.out" ] && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if read -r pid _ < "$b/$1.pid" 2>/dev/null; then echo "outpost-started $pid" >&2
else rm -f "$b/$1.out" "$b/$1.script" "$b/$1.params"; echo "outpost-not-started" >&2
fi
