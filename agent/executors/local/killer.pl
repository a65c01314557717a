# Signals processes of a run-as job that the supervisor itself may not signal (they run as the job's user).
# Run as that user, through the same switch as the job (sudo -n -u USER / su), by the job's supervisor:
#   perl -e <this file> -- SIGNAL PID:STARTTIME ...
# A pid is signalled only if it still has the start time the supervisor saw, so a pid reused by another
# process since the scan is never touched. Prints one line per pid: `PID signalled|gone|denied ERRNO`.
use strict;
use warnings;

my ($sig, @targets) = @ARGV;
exit 2 unless defined $sig && $sig =~ /^[A-Z0-9]+$/;
$| = 1;

sub starttime {
  my $pid = shift;
  open(my $f, '<', "/proc/$pid/stat") or return '';
  my $l = <$f>;
  close $f;
  return '' unless defined $l;
  $l =~ s/^.*\)\s//s;
  my @f = split / /, $l;
  return defined $f[19] ? $f[19] : '';
}

for my $t (@targets) {
  my ($pid, $start) = $t =~ /^(\d+):(\d+)$/ or next;
  if (starttime($pid) ne $start) { print "$pid gone\n"; next; }
  if (kill($sig, $pid)) { print "$pid signalled\n"; }
  else { print "$pid denied " . ($! + 0) . "\n"; }
}
exit 0;
