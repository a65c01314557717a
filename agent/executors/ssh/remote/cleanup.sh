# shellcheck shell=sh
# Runs on the target as `sh -c <this> <name> <args>` (remote-scripts.ts, remoteCommand), as the job's user;
# comment lines are not sent. Files per job are under "$HOME/.outpost/jobs" (remote-scripts.ts lists them).
# CLEANUP: removes finished jobs' files ($@ ids), and files of jobs that finished over a week ago and were
# never cleaned (the agent stopped before it got to them).
b="$HOME/.outpost/jobs"
cd "$b" 2>/dev/null || exit 0
for id in "$@"; do rm -f "$id.out" "$id.pid" "$id.exit" "$id.rc" "$id.script" "$id.params"; done
find . -maxdepth 1 -name '*.exit' -mtime +7 2>/dev/null | while read -r f; do
  id=${f#./}; id=${id%.exit}
  rm -f "$id.out" "$id.pid" "$id.exit" "$id.rc" "$id.script" "$id.params"
done
