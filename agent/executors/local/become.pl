# `perl -e <shim.pl + this> -- argv…` under sudo/su: the payload comes on stdin, then the job is exec'd.
use strict;
use warnings;

binmode STDIN;
my $payload = do { local $/; <STDIN> };
outpost_become(defined $payload ? $payload : '', @ARGV);
