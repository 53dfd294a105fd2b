# kill -9 of the mirror worker in the middle of streaming: the postmaster
# restarts the cluster, the worker replays from the slot's last
# acknowledged batch, and the store ends up exactly equal to PostgreSQL.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('kill');
# small batches, so the kill lands between many acknowledged ones
my $node = new_mirrored_node('kill', $store, "authlog.mirror_batch_size = 20",
	"restart_after_crash = on");
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

record_events($node, 'kill-tenant', 2000);
$node->poll_query_until('postgres', q{SELECT documents_written > 100 FROM authlog.mirror_status})
  or die 'the mirror did not start streaming';
my ($pid) = $node->safe_psql('postgres', q{SELECT pid FROM authlog.mirror_status});
my $written_before = $node->safe_psql('postgres', q{SELECT documents_written FROM authlog.mirror_status});
ok(kill('KILL', $pid), "kill -9 of the mirror worker (pid $pid) after $written_before documents");

# the postmaster resets every backend after a crash; wait until it accepts again
$node->poll_query_until('postgres', q{SELECT state = 'streaming' FROM authlog.mirror_status})
  or die 'the mirror did not come back';
record_events($node, 'kill-tenant', 100);
verify_mirror($node, 'after kill -9 of the worker');

$node->stop;
stop_store($store);
done_testing();
