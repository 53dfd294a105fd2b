# pg_ctl stop -m immediate while the mirror streams, then a restart: crash
# recovery, and the mirror resumes from the slot to the same end state.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('immediate');
my $node = new_mirrored_node('immediate', $store, "authlog.mirror_batch_size = 20");
record_events($node, 'immediate-tenant', 1000);
$node->poll_query_until('postgres', q{SELECT documents_written > 50 FROM authlog.mirror_status})
  or die 'the mirror did not start streaming';
$node->stop('immediate');
$node->start;
record_events($node, 'immediate-tenant', 100);
verify_mirror($node, 'after an immediate shutdown and restart');

$node->stop;
stop_store($store);
done_testing();
