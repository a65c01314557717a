/**
 * The remote launcher: one long-lived Perl process per connection and effective user, started on an exec
 * channel, that starts jobs from requests on its stdin and streams their output and exit status back on
 * its stdout. Per job the target then forks a runner and execs the job — no sshd session, login shell or
 * `tee` per job (the per-job exec wrapper in remote-scripts.ts costs about twice as much on the target
 * and six times as much in the agent). Perl because the target must fork runners without an exec and
 * call setsid() in-process; `perl-base` is on every Debian/Ubuntu host and in RHEL's base, and targets
 * without it fall back to the per-job wrapper. Only POSIX and Fcntl are loaded (both in perl-base).
 *
 * The runner writes the same files as the shell wrapper (`<id>.out`, `.pid`, `.exit`, `.script` under
 * ~/.outpost/jobs), so ATTACH, KILL, PROBE and CLEANUP work on either kind of job, and a job outlives its
 * launcher: when the channel goes, the launcher exits and the agent follows the job with ATTACH.
 *
 * Protocol (see launcher-protocol.ts): one request per line, strings as `x` + hex, so nothing is parsed
 * by a shell:
 *   agent → launcher  `R <id> <flags> <cwd> <script|-> <nenv> <NAME=VALUE>… <argv>…`   (flags: `p` = login profile)
 *   launcher → agent  `V 1` once ready; `S <id> <runner pid>`; `E <id> <message>`;
 *                     `O <id> <n>` + n bytes of output; `X <id> <exit status|gone> <bytes sent>`.
 */
export const LAUNCHER_PERL = String.raw`
use strict;
use POSIX ();
use Fcntl qw(O_WRONLY O_CREAT O_EXCL F_GETFL F_SETFL O_NONBLOCK);
$0 = 'outpost-launcher';
umask 077;
my $B = ($ENV{HOME} || '') . '/.outpost/jobs';
mkdir substr($B, 0, -5), 0700;
mkdir $B, 0700;
unless (-d $B && -w $B) { print STDERR "outpost-error cannot create $B: $!\n"; exit 90; }
my $RUNNER = $ARGV[0];
my $CHUNK = 262144;
my (%run, %gone);
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
fcntl($wake_w, F_SETFL, fcntl($wake_w, F_GETFL, 0) | O_NONBLOCK);
# The self-pipe makes select() return for a runner that ends just before it is called.
$SIG{CHLD} = sub { while ((my $p = waitpid(-1, POSIX::WNOHANG())) > 0) { $gone{$p} = 1; } syswrite($wake_w, 'x'); };
# The channel is gone: stop; the runners carry on and the agent follows the jobs with ATTACH.
$SIG{PIPE} = sub { POSIX::_exit(0); };
binmode STDIN; binmode STDOUT;

sub put {
  my $s = shift;
  while (length $s) {
    my $n = syswrite(STDOUT, $s);
    if (!defined $n) { next if $! == POSIX::EINTR(); POSIX::_exit(0); }
    substr($s, 0, $n) = '';
  }
}
sub hx { return 'x' . unpack('H*', $_[0]); }
sub unhx { my $s = shift; return defined $s && $s =~ /^x((?:[0-9a-f]{2})*)$/ ? pack('H*', $1) : undef; }
sub refuse { my ($id, $why) = @_; put("E $id " . hx($why) . "\n"); }

# The runner: the forked launcher execs sh at once. A Perl runner would keep this process's pages shared
# copy-on-write for the job's whole life, and Perl's reference counts touch them all: measured ~3 ms of
# page faults per job in the launcher, more than the fork itself.
sub run_job {
  my ($id, $out, $cwd, $env, $argv) = @_;
  POSIX::setsid();
  $SIG{CHLD} = $SIG{PIPE} = $SIG{TERM} = $SIG{INT} = 'DEFAULT';
  open(STDIN, '<', '/dev/null');
  open(STDOUT, '>>', $out) or POSIX::_exit(125);
  open(STDERR, '>&', \*STDOUT);
  for (@$env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }
  my $rc;
  if ($cwd ne '') {
    chdir($cwd) or do { syswrite(STDOUT, "outpost: cannot change directory to $cwd\n"); $rc = 126; };
  } else { chdir($ENV{HOME} || '/') or chdir('/'); }
  { no warnings; exec { '/bin/sh' } 'outpost-runner', '-c', $RUNNER, 'outpost-runner', "$B/$id", @$argv unless defined $rc; }
  $rc //= 127;
  if (open(my $f, '>', "$B/$id.exit")) { print $f "$rc\n"; close $f; }
  POSIX::_exit(0);
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
  run_job($id, $out, $cwd, \@env, \@words) if $pid == 0;
  # Runner pid, its process group and session (it calls setsid): what KILL and ATTACH read.
  if (open(my $p, '>', "$B/$id.pid")) { print $p "$pid $pid $pid\n"; close $p; }
  $run{$pid} = { id => $id, out => $out, off => 0 };
  put("S $id $pid\n");
}

# Sends what the job wrote since last time (at most $CHUNK bytes); returns the byte count.
sub pump {
  my $j = shift;
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

sub finish {
  my ($pid, $j) = @_;
  my $st = 'gone';
  if (open(my $f, '<', "$B/$j->{id}.exit")) { my $l = <$f>; close $f; $st = $1 if defined $l && $l =~ /^(\d+)$/; }
  put("X $j->{id} $st $j->{off}\n");
  delete $run{$pid}; delete $gone{$pid};
}

put("V 1\n");
my $in = '';
for (;;) {
  my $busy = 0;
  for my $pid (keys %run) {
    my $ended = $gone{$pid};
    if (pump($run{$pid})) { $busy = 1; } elsif ($ended) { finish($pid, $run{$pid}); }
  }
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1;
  vec($rin, fileno($wake_r), 1) = 1;
  my $n = select(my $rout = $rin, undef, undef, $busy ? 0 : %run ? 0.2 : undef);
  next if $n <= 0;
  sysread($wake_r, my $drain, 4096) if vec($rout, fileno($wake_r), 1);
  next unless vec($rout, fileno(STDIN), 1);
  my $got = sysread(STDIN, $in, 65536, length $in);
  next if !defined $got && $! == POSIX::EINTR();
  POSIX::_exit(0) unless $got;
  while ((my $i = index($in, "\n")) >= 0) {
    my $line = substr($in, 0, $i);
    substr($in, 0, $i + 1) = '';
    my ($cmd, @f) = split / /, $line;
    if (defined $cmd && $cmd eq 'R') { launch(@f); } else { refuse('-', 'unknown request'); }
  }
}
`;

/**
 * Runs the job (argv after $2) in the background with output appended to <base>.out, survives TERM and
 * INT (a cancel signals the whole group) to record the exit status in <base>.exit. $1 = <jobs dir>/<id>.
 */
export const RUNNER_SH = `trap : TERM INT
b=$1; shift
"$@" < /dev/null >> "$b.out" 2>&1 &
p=$!
while :; do wait "$p"; rc=$?; kill -0 "$p" 2>/dev/null || break; done
echo "$rc" > "$b.exit"
`;

/** Arguments to perl that run the launcher. */
export const LAUNCHER_ARGS: readonly string[] = ['-e', LAUNCHER_PERL, RUNNER_SH];
