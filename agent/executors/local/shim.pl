# The job side of a local job's payload (NUL-joined `clearEnv, cwd, scriptIndex, script, k1, v1, …`):
# environment, working directory and the script's pipe. Loaded in front of launcher.pl, whose supervisor
# applies an inline payload itself, and in front of become.pl, which applies one that came on stdin
# through sudo/su, as the job's own user.
use strict;
use warnings;

# Applies the payload to this process and splices the script's /dev/fd path into @$argv.
# Returns ('', read end, write end, script) — both ends undef without a script — or (why it failed).
sub outpost_apply {
  my ($p, $argv) = @_;
  my ($clear, $cwd, $si, $script, @kv) = split /\0/, $p, -1;
  %ENV = () if $clear;
  while (@kv >= 2) { my $k = shift @kv; my $v = shift @kv; $ENV{$k} = $v; }
  $cwd = $ENV{HOME} || '/' if $cwd eq '';
  chdir($cwd) or return "cannot change to directory $cwd: $!";
  return ('', undef, undef, '') if $si < 0;
  $^F = 1023;  # both ends survive exec; whoever feeds the script closes the write end
  pipe(my $r, my $w) or return "pipe: $!";
  splice(@$argv, $si, 0, '/dev/fd/' . fileno($r));
  return ('', $r, $w, $script);
}

# Applies the payload, then execs argv; a child feeds the script into its pipe.
sub outpost_become {
  my ($p, @argv) = @_;
  open(STDIN, '<', '/dev/null');
  # The pipe's ends are kept at sub scope: a handle that went out of scope would be closed before exec.
  my ($err, $r, $w, $script) = outpost_apply($p, \@argv);
  if ($err ne '') { print STDERR "outpost: $err\n"; exit 127; }
  if ($w) {
    my $wp = fork();
    if (defined $wp && $wp == 0) { close $r; print $w $script; close $w; exit 0; }
    close $w;
  }
  { no warnings; exec { $argv[0] } @argv; }
  print STDERR "outpost: cannot execute $argv[0]: $!\n";
  exit 127;
}
