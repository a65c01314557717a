# The remote launcher (launcher-source.ts explains the protocol and why Perl): one per SSH connection
# and effective user, started on an exec channel as `perl -e <this file>`; it starts jobs from requests
# on its stdin and streams their output and exit status back on its stdout. Only modules that perl-base
# has (strict, warnings, POSIX, Fcntl): it runs on targets nobody installed anything on.
use strict;
use warnings;
use POSIX ();
use Fcntl qw(O_WRONLY O_CREAT O_EXCL F_GETFL F_SETFL O_NONBLOCK);
$0 = 'outpost-launcher';
umask 077;
my $B = ($ENV{HOME} || '') . '/.outpost/jobs';
mkdir substr($B, 0, -5), 0700;
mkdir $B, 0700;
unless (-d $B && -w $B) { print STDERR "outpost-error cannot create $B: $!\n"; exit 90; }
my $CHUNK = 262144;
my (%run, %ended);
# Set once the channel is gone: nothing more is sent, and the launcher leaves after its last job.
my $detached = 0;
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
fcntl($wake_w, F_SETFL, fcntl($wake_w, F_GETFL, 0) | O_NONBLOCK);
# The self-pipe makes select() return for a job that ends just before it is called.
$SIG{CHLD} = sub { while ((my $p = waitpid(-1, POSIX::WNOHANG())) > 0) { $ended{$p} = $?; } syswrite($wake_w, 'x'); };
$SIG{PIPE} = 'IGNORE';
$SIG{HUP} = 'IGNORE';
binmode STDIN; binmode STDOUT;

sub put {
  my $s = shift;
  while (!$detached && length $s) {
    my $n = syswrite(STDOUT, $s);
    if (!defined $n) { next if $! == POSIX::EINTR(); $detached = 1; last; }
    substr($s, 0, $n) = '';
  }
}
sub hx { return 'x' . unpack('H*', $_[0]); }
sub unhx { my $s = shift; return defined $s && $s =~ /^x((?:[0-9a-f]{2})*)$/ ? pack('H*', $1) : undef; }
sub refuse { my ($id, $why) = @_; put("E $id " . hx($why) . "\n"); }

# In the forked child: becomes the job (own session and group, output to its file) or reports why not.
sub become_job {
  my ($out, $cwd, $env, $argv) = @_;
  POSIX::setsid();
  $SIG{$_} = 'DEFAULT' for qw(CHLD PIPE HUP);
  open(STDIN, '<', '/dev/null');
  open(STDOUT, '>>', $out) or POSIX::_exit(125);
  open(STDERR, '>&', \*STDOUT);
  for (@$env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }
  if ($cwd ne '') {
    chdir($cwd) or do { syswrite(STDOUT, "outpost: cannot change directory to $cwd\n"); POSIX::_exit(126); };
  } else { chdir($ENV{HOME} || '/') or chdir('/'); }
  { no warnings; exec { $argv->[0] } @$argv; }
  my $errno = $! + 0;
  syswrite(STDOUT, "outpost: cannot execute $argv->[0]: $!\n");
  POSIX::_exit($errno == POSIX::ENOENT() ? 127 : 126);
}

sub launch {
  my ($id, $flags, $cwdh, $scripth, $nenv, @rest) = @_;
  return refuse('-', 'malformed request') unless defined $nenv && $id =~ /^[a-z0-9][a-z0-9-]{0,127}$/ && $nenv =~ /^\d+$/ && @rest > $nenv;
  my @w = map { unhx($_) } ($cwdh, @rest);
  return refuse($id, 'malformed request') if grep { !defined } @w;
  my ($cwd, @words) = @w;
  my @env = splice(@words, 0, $nenv);
  my $out = "$B/$id.out";
  sysopen(my $fh, $out, O_WRONLY | O_CREAT | O_EXCL, 0600) or return refuse($id, "job files for $id already exist in $B");
  close $fh;
  if ($scripth ne '-') {
    my $body = unhx($scripth);
    my $path = "$B/$id.script";
    my $ok = defined $body && sysopen(my $s, $path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    $ok = (print $s $body) && close($s) if $ok;
    unless ($ok) { unlink($out, $path); return refuse($id, "cannot write $path"); }
    splice(@words, 1, 0, $path);
  }
  @words = ('/bin/sh', '-lc', 'exec "$@"', 'sh', @words) if $flags =~ /p/;
  my $pid = fork();
  unless (defined $pid) { unlink($out, "$B/$id.script"); return refuse($id, "fork failed: $!"); }
  become_job($out, $cwd, \@env, \@words) if $pid == 0;
  # The job's pid, process group and session (it called setsid): what KILL and ATTACH read.
  if (open(my $p, '>', "$B/$id.pid")) { print $p "$pid $pid $pid\n"; close $p; }
  $run{$pid} = { id => $id, out => $out, off => 0 };
  put("S $id $pid\n");
}

# Sends what the job wrote since last time (at most $CHUNK bytes); returns the byte count.
sub pump {
  my $j = shift;
  return 0 if $detached;
  my $size = -s $j->{out};
  return 0 unless defined $size && $size > $j->{off};
  open(my $f, '<', $j->{out}) or return 0;
  binmode $f;
  sysseek($f, $j->{off}, 0);
  my $want = $size - $j->{off};
  my $n = sysread($f, my $buf, $want > $CHUNK ? $CHUNK : $want);
  close $f;
  return 0 unless $n;
  $j->{off} += $n;
  put("O $j->{id} $n\n" . $buf);
  return $n;
}

# Exit status as sh reports it (the code, or 128 + the signal that killed the job), recorded as a fourth
# field of the pid file, written over it in place: creating files is what costs most per job on the
# target (a separate .exit would be a third inode per job), and the old line is a prefix of the new one,
# so a reader sees one or the other.
sub record {
  my ($pid, $j) = @_;
  my $st = $ended{$pid};
  my $rc = ($st & 127) ? 128 + ($st & 127) : ($st >> 8);
  if (open(my $f, '+<', "$B/$j->{id}.pid")) { syswrite($f, "$pid $pid $pid $rc\n"); close $f; }
  return $rc;
}

put("V 1\n");
my $in = '';
for (;;) {
  my $busy = 0;
  for my $pid (keys %run) {
    my $j = $run{$pid};
    my $over = exists $ended{$pid};
    $j->{rc} //= record($pid, $j) if $over;
    if (pump($j)) { $busy = 1; next; }
    next unless $over;
    put("X $j->{id} $j->{rc} $j->{off}\n");
    delete $run{$pid}; delete $ended{$pid};
  }
  exit 0 if $detached && !%run;
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1 unless $detached;
  vec($rin, fileno($wake_r), 1) = 1;
  my $n = select(my $rout = $rin, undef, undef, $busy ? 0 : %run && !$detached ? 0.2 : undef);
  next if $n <= 0;
  sysread($wake_r, my $drain, 4096) if vec($rout, fileno($wake_r), 1);
  next if $detached || !vec($rout, fileno(STDIN), 1);
  my $got = sysread(STDIN, $in, 65536, length $in);
  next if !defined $got && $! == POSIX::EINTR();
  unless ($got) { $detached = 1; next; }
  while ((my $i = index($in, "\n")) >= 0) {
    my $line = substr($in, 0, $i);
    substr($in, 0, $i + 1) = '';
    my ($cmd, @f) = split / /, $line;
    if (defined $cmd && $cmd eq 'R') { launch(@f); } else { refuse('-', 'unknown request'); }
  }
}
