# The launcher and its per-job supervisor (agent/executors/local/supervisor-source.ts explains the protocol
# and why Perl). Runs as `perl -e <shim.pl + this file> -- SETSID PRCTL EXIT SIGMASK PERL KILLER [SOCKET]`:
# syscall numbers of this architecture (0 where unknown), the perl to run killer.pl with, killer.pl's
# source, and the Unix socket to listen on when it runs as a service.
use strict;
use warnings;
# The launcher protocol's version (announced in the H line) and the status file's format (its "v"): the agent
# reads both from here.
my $LAUNCHER_PROTOCOL = 1;
my $STATUS_FORMAT = 1;
my ($SETSID, $PRCTL, $EXIT, $SIGMASK, $PERL, $KILLER, $LISTEN) = @ARGV;
$| = 1;
my $OUT = \*STDOUT;
# SIGTERM (cancel) and SIGUSR1 (abort) are held back from a supervisor's fork until it has its handlers: the
# agent may send them as soon as it has the pid, and their default action would kill the supervisor, leaving
# the job unsupervised and recorded lost. The kernel keeps them pending meanwhile. Bit = signal - 1.
my $CONTROL_SIGNALS = pack('Q', (1 << 14) | (1 << 9));
sub control_signals { syscall($SIGMASK + 0, shift, $CONTROL_SIGNALS, 0, 8) if $SIGMASK; }  # 0 block, 1 unblock

sub unhex { my $s = shift; return pack('H*', substr($s, 1)); }
sub stat_fields {
  my $pid = shift;
  open(my $f, '<', "/proc/$pid/stat") or return ();
  my $l = <$f>; close $f;
  $l =~ s/^.*\)\s//s;
  return split / /, $l;
}
sub starttime { my @f = stat_fields(shift); return defined $f[19] ? $f[19] : ''; }

# Exits seen while no agent is connected are dropped: a reconnecting agent watches its jobs by pid instead.
$SIG{CHLD} = sub { while ((my $p = waitpid(-1, 1)) > 0) { print $OUT "X $p $?\n" if $OUT; } };
if (defined $LISTEN && $LISTEN ne '') { listen_on($LISTEN); } else { serve(\*STDIN); }
exit 0;

sub serve {
  my $in = shift;
  while (defined(my $line = <$in>)) {
    chomp $line;
    my ($cmd, $req, @f) = split / /, $line;
    next unless defined $cmd && $cmd eq 'L';
    control_signals(0);
    my $pid = fork();
    if (defined $pid && $pid == 0) { supervise(@f); exit 0; }
    control_signals(1);
    if (!defined $pid) { print $OUT "E $req fork failed: $!\n"; next; }
    print $OUT "S $req $pid " . starttime($pid) . "\n";
  }
}

sub listen_on {
  my $path = shift;
  require Socket;
  # A vanished agent must not kill the launcher; supervise() restores the default for jobs.
  $SIG{PIPE} = 'IGNORE';
  $OUT = undef;
  unlink $path;
  my $um = umask(0177);
  socket(my $ls, Socket::AF_UNIX(), Socket::SOCK_STREAM(), 0) or die "outpost launcher: socket: $!\n";
  bind($ls, Socket::pack_sockaddr_un($path)) or die "outpost launcher: cannot listen on $path: $!\n";
  umask($um);
  listen($ls, 8) or die "outpost launcher: listen on $path: $!\n";
  print STDOUT "outpost launcher listening on $path\n";
  while (1) {
    my $c;
    unless (accept($c, $ls)) { next if $!{EINTR}; die "outpost launcher: accept: $!\n"; }
    # Defence in depth behind the 0600 socket: only our own user (or root) may order jobs.
    my $cred = getsockopt($c, Socket::SOL_SOCKET(), Socket::SO_PEERCRED());
    my (undef, $uid) = unpack('iII', $cred || '');
    if (!defined $uid || ($uid != $< && $uid != 0)) { close $c; next; }
    select((select($c), $| = 1)[0]);
    $OUT = $c;
    print $OUT "H $$ $LAUNCHER_PROTOCOL\n";
    serve($c);
    $OUT = undef;
    close $c;
  }
}

sub supervise {
  my ($dirh, $outh, $timeout, $gracecap, $mode, $payh, $switchh, @argh) = @_;
  my ($grace, $cap) = split /:/, $gracecap;
  $cap = 0 unless defined $cap && $cap =~ /^\d+$/;
  my $dir = unhex($dirh); my $out = unhex($outh); my $payload = unhex($payh);
  my @switch = grep { $_ ne '' } split /\0/, unhex($switchh), -1;
  my @argv = map { unhex($_) } @argh;
  # A cancel or abort can come before the job exists (caught since the fork, serve): the default action
  # would end this supervisor and leave the job unsupervised or never started. Kept, and acted on below.
  $SIG{CHLD} = 'DEFAULT';
  $SIG{PIPE} = 'DEFAULT';  # an ignored signal stays ignored across exec: jobs must get the default
  if ($SETSID) { syscall($SETSID + 0); } else { setpgrp(0, 0); }
  syscall($PRCTL + 0, 36, 1, 0, 0, 0) if $PRCTL;
  $0 = 'outpost-supervisor';
  open(STDIN, '<', '/dev/null'); open(STDOUT, '>', '/dev/null'); open(STDERR, '>', '/dev/null');
  # Jobs get stdin/stdout/stderr only: close whatever the agent's own parent let us inherit.
  if (opendir(my $fds, '/proc/self/fd')) {
    my @open = grep { /^\d+$/ && $_ > 2 } readdir $fds;
    closedir $fds;
    for my $fd (@open) { if (open(my $h, '<&=', $fd)) { close $h; } }
  }
  # Who supervises this job, for an agent that died before it could record the launcher's answer.
  if (open(my $f, '>', "$dir/supervisor")) { print $f "$$ " . starttime($$) . "\n"; close $f; }
  my $st_file = "$dir/status";
  # Room for the status, taken now: at the end the disk may be full (write_status writes into it).
  if (open(my $f, '>', "$st_file.tmp")) { print $f (' ' x 1024); close $f; }
  my %status = (reason => 'exited', exitCode => 'null', signal => 'null', jobPid => 'null', error => '', survivors => [], cut => 0);
  my $o;
  unless (open($o, '>>', $out)) { $status{error} = "cannot open output: $!"; write_status($st_file, \%status); quick_exit(); }
  # Everything the job needs (env, cwd, script pipe) is prepared here, before the fork, so the job's child
  # only execs: perl touching memory after fork() means copy-on-write faults, which dominated per-job CPU.
  my ($r, $w);
  my ($pr, $pw);
  pipe($pr, $pw) or do { $status{error} = "pipe failed: $!"; write_status($st_file, \%status); quick_exit(); };
  my $feed = '';
  if ($mode eq 'stdin') {
    pipe($r, $w);
    $feed = $payload;
  } else {
    (my $err, $r, $w, $feed) = outpost_apply($payload, \@argv);
    if ($err ne '') {
      print $o "outpost: $err\n"; close $o;
      $status{exitCode} = 127; write_status($st_file, \%status); quick_exit();
    }
  }
  my $job = fork();
  if (!defined $job) { $status{error} = "fork failed: $!"; write_status($st_file, \%status); quick_exit(); }
  if ($job == 0) {
    control_signals(1);  # a blocked mask would survive the exec: the job gets every signal
    setpgrp(0, 0);
    open(STDOUT, '>&', $pw); open(STDERR, '>&', $pw); close $pw; close $pr; close $o;
    close $w if $w;
    if ($mode eq 'stdin') {
      open(STDIN, '<&', $r); close $r;
      %ENV = (PATH => '/usr/sbin:/usr/bin:/sbin:/bin');
    } else {
      open(STDIN, '<', '/dev/null');
    }
    { no warnings; exec { $argv[0] } @argv; }
    print STDERR "outpost: cannot execute $argv[0]: $!\n";
    quick_exit(127);
  }
  setpgrp($job, $job);
  close $pw;
  $status{jobPid} = $job;
  # The pump: what the job prints, up to $cap bytes (0: all), then the marker once; the rest is dropped.
  my $kept = (-s $o) || 0;
  my $ends_line = 1;
  my $pump = sub {
    my $buf = shift;
    return if $status{cut};
    my $over = $cap > 0 && length($buf) > $cap - $kept;
    my $part = $over ? substr($buf, 0, $cap - $kept) : $buf;
    while (length $part) {
      my $n = syswrite($o, $part);
      if (!defined $n || $n == 0) {
        my $why = "$!";
        $status{cut} = 1;
        $status{error} = "output cut at $kept bytes: $why";
        syswrite($o, ($ends_line ? '' : "\n") . "[outpost: output cut at $kept bytes; $why]\n");
        return;
      }
      $kept += $n;
      $ends_line = substr($part, $n - 1, 1) eq "\n";
      $part = substr($part, $n);
    }
    if ($over) {
      $status{cut} = 1;
      syswrite($o, ($ends_line ? '' : "\n") . "[outpost: output cut at $cap bytes; maxOutputBytes]\n");
    }
  };
  my $rin = ''; vec($rin, fileno($pr), 1) = 1;
  my $pr_open = 1;
  # Waits up to $t seconds for output (or a signal) and pumps one read of it.
  my $wait_output = sub {
    my $t = shift;
    return select(undef, undef, undef, $t) unless $pr_open;
    my $n = select(my $rout = $rin, undef, undef, $t);
    return if !defined $n || $n <= 0;
    my $got = sysread($pr, my $buf, 65536);
    if (!defined $got) { return if $!{EINTR} || $!{EAGAIN}; $got = 0; }
    if ($got == 0) { $pr_open = 0; close $pr; return; }
    $pump->($buf);
    return 1;
  };
  # What is in the pipe now, without waiting (bounded: a process that never stops printing must not hold us).
  my $drain = sub { for (1 .. 64) { last unless $wait_output->(0); } };
  my $phase = 0;
  my $signal_all = sub {
    my $sig = shift;
    my @t = tree($job);
    if (open(my $f, '>>', "$dir/signalled")) { print $f "$sig @t\n"; close $f; }
    kill $sig, -$job;
    my @denied;
    for my $p (@t) { push @denied, $p if !kill($sig, $p) && $!{EPERM}; }
    # A run-as job's processes belong to its user: only that user (or root) may signal them.
    kill_as_user($dir, \@switch, $sig, @denied) if @denied && @switch;
  };
  my $grace_now = sub {
    my $g = $grace;
    if (open(my $f, '<', "$dir/cancel-grace")) { my $v = <$f>; close $f; $g = $v + 0 if defined $v && $v =~ /^\d+$/; }
    return $g > 0 ? $g : 1;
  };
  $SIG{TERM} = sub { return if $phase; $status{reason} = 'cancel'; $signal_all->('TERM'); $phase = 1; alarm($grace_now->()); };
  $SIG{USR1} = sub { $status{reason} = 'abort' if $phase < 2; $signal_all->('KILL'); $phase = 2; alarm(0); };
  $SIG{ALRM} = sub {
    if ($phase == 0) { $status{reason} = 'timeout'; $signal_all->('TERM'); $phase = 1; alarm($grace > 0 ? $grace : 1); }
    else { $signal_all->('KILL'); $phase = 2; }
  };
  $SIG{PIPE} = 'IGNORE';
  control_signals(1);  # a cancel or abort sent while it started is handled now
  alarm($timeout) if $timeout > 0;
  if ($w) {
    close $r;
    # The job may print before it has read all of this (sh reads a script as it runs it), and the supervisor
    # pumps that output only once in its loop: what may not fit in the pipe (one page is all a pipe is sure
    # to hold) is fed by a child of its own, so neither side waits for the other.
    if (length($feed) <= 4096) { print $w $feed; }
    else {
      my $fp = fork();
      if (!defined $fp) { print $w $feed; }
      elsif ($fp == 0) { $SIG{$_} = 'DEFAULT' for qw(TERM USR1 ALRM); print $w $feed; close $w; quick_exit(); }
    }
    close $w;
  }
  my $st = -1;
  # A handler, not DEFAULT: the job's end then interrupts the wait for its output (children reset it on exec).
  $SIG{CHLD} = sub {};
  while ($pr_open) {
    my $p = waitpid($job, 1);
    if ($p == $job) { $st = $?; last; }
    last if $p < 0;
    $wait_output->(1);
  }
  if ($st < 0) { while (1) { my $p = waitpid($job, 0); if ($p == $job) { $st = $?; last; } last if $p < 0; } }
  while (waitpid(-1, 1) > 0) {}
  # A cancelled/timed-out job's descendants get the rest of the grace period, then SIGKILL.
  while ($phase == 1 && tree($job) > 0) { $drain->(); select(undef, undef, undef, 0.05); while (waitpid(-1, 1) > 0) {} }
  alarm(0);
  # Killing was ordered: the status is written only once nothing of the job is left, or names what is.
  if ($phase > 0) {
    my $deadline = time() + 10;
    while (1) {
      my @t = tree($job);
      last unless @t;
      if (time() >= $deadline) { $status{survivors} = [map { [$_, owner($_)] } @t]; last; }
      $signal_all->('KILL');
      select(undef, undef, undef, 0.2);
      while (waitpid(-1, 1) > 0) {}
    }
  }
  if ($st >= 0) {
    if ($st & 127) { $status{signal} = $st & 127; } else { $status{exitCode} = $st >> 8; }
  }
  $drain->();
  if ($pr_open) {
    # Processes the job left running still hold its output: they get a pump of their own until they close
    # it (as when they wrote to the file directly), rather than a SIGPIPE when this supervisor is gone.
    my $k = fork();
    if (defined $k && $k == 0) {
      $0 = 'outpost-output';
      $SIG{$_} = 'DEFAULT' for qw(TERM USR1 ALRM CHLD);
      $wait_output->(3600) while $pr_open;
      quick_exit();
    }
    close $pr;
  }
  close $o;
  write_status($st_file, \%status);
  quick_exit();
}

# exit_group(2) directly: perl's own exit would walk (and so copy-on-write) the interpreter's memory.
sub quick_exit {
  my $code = shift || 0;
  syscall($EXIT + 0, $code) if $EXIT;
  exit $code;
}

# Runs killer.pl as the job's user, through the switch the job itself went through; waits for it.
sub kill_as_user {
  my ($dir, $switch, $sig, @pids) = @_;
  my @targets = map { "$_:" . starttime($_) } @pids;
  my $k = fork();
  return unless defined $k;
  if ($k == 0) {
    if (open(my $log, '>>', "$dir/killer.log")) { open(STDOUT, '>&', $log); open(STDERR, '>&', $log); }
    { no warnings; exec { $switch->[0] } @$switch, $PERL, '-e', $KILLER, '--', $sig, @targets; }
    quick_exit(127);
  }
  waitpid($k, 0);
}

# The real uid of a process, as a user name where one exists.
sub owner {
  my $pid = shift;
  open(my $f, '<', "/proc/$pid/status") or return '?';
  my $uid;
  while (my $l = <$f>) { if ($l =~ /^Uid:\s+(\d+)/) { $uid = $1; last; } }
  close $f;
  return '?' unless defined $uid;
  my $name = getpwuid($uid);
  return defined $name ? $name : $uid;
}

sub tree {
  my $job = shift;
  my (%pp, %pg);
  opendir(my $d, '/proc') or return ();
  for my $p (readdir $d) {
    next unless $p =~ /^\d+$/;
    my @f = stat_fields($p);
    next unless @f;
    $pp{$p} = $f[1]; $pg{$p} = $f[2];
  }
  closedir $d;
  my %in = ($$ => 1);
  my $changed = 1;
  while ($changed) {
    $changed = 0;
    for my $p (keys %pp) {
      next if $in{$p};
      if ($in{$pp{$p}} || $pg{$p} == $job) { $in{$p} = 1; $changed = 1; }
    }
  }
  delete $in{$$};
  return keys %in;
}

# A JSON string. No module: perl-base has none for JSON, and these are the only strings the status holds.
sub json_str {
  my $v = shift;
  $v =~ s/([\\"])/\\$1/g;
  $v =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord($1))/ge;
  return '"' . $v . '"';
}

sub write_status {
  my ($file, $s) = @_;
  my $sv = join(',', map { '[' . ($_->[0] + 0) . ',' . json_str($_->[1]) . ']' } @{$s->{survivors}});
  my $text = '{"v":' . $STATUS_FORMAT . ',"reason":' . json_str($s->{reason}) . ',"exitCode":' . $s->{exitCode} . ',"signal":' . $s->{signal}
    . ',"jobPid":' . $s->{jobPid} . ',"error":' . json_str($s->{error}) . ',"survivors":[' . $sv . '],"outputTruncated":' . ($s->{cut} ? 'true' : 'false')
    . ',"endedAt":' . time() . "}\n";
  # Into the room taken at the start when it is there and big enough (a full disk cannot refuse that),
  # cut to length; a status that could not be written whole is not renamed into place.
  my $f;
  my $ok = (-s "$file.tmp" || 0) >= length($text) ? open($f, '+<', "$file.tmp") : open($f, '>', "$file.tmp");
  if ($ok) {
    $ok = print $f $text;
    $ok = truncate($f, length($text)) && $ok;
    $ok = close($f) && $ok;
    if ($ok) { rename("$file.tmp", $file); } else { unlink("$file.tmp"); }
  }
}
