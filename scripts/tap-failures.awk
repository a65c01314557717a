# Reads a TAP 14 stream (tap --reporter=tap) and prints what a failed CI run needs: every failed assertion
# with its YAML diagnostics (found/wanted/diff and where; cut after 30 lines), the failed subtests and files
# that contain it (one line each), and the closing summary. Passing tests stay out of the way.
/^ *not ok / {
  print
  # Subtests and files carry "# time="; their diagnostics only repeat the location.
  diag = ($0 !~ /# time=/); shown = 0; next
}
diag && /^ *---$/ { block = 1 }
block {
  if (shown < 30) print
  else if (shown == 30) print "      [… diagnostics cut]"
  shown++
  if ($0 ~ /^ *\.\.\.$/) { block = 0; diag = 0 }
  next
}
{ diag = 0 }
/^# / && !/^# Subtest: / { print }
