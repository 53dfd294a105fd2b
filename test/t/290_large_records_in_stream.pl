# The mirror's stream reads WAL in its worker (src/slot_stream.c), in one
# transaction per batch, and decoding each transaction comes back in that
# transaction's context.  A record longer than the WAL reader's buffer (the
# commit of DDL making 100 partitions, with its invalidations) read after a
# decoded transaction got its new buffer there, which the batch's end freed:
# the next record spanning pages was copied into freed memory and the worker
# died (seen as a crash of the mirror and the sealer after
# create_partitions).  Here a batch holds events, that commit and more
# events, and the stream goes on after it: nothing crashes, nothing is lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('large_records');
my $node = new_mirrored_node('large_records', $store, "authlog.seal_interval = '1s'");
record_events($node, 'before', 5);
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

# The worker holds its stream open, paused after a batch the store took.
$node->append_conf('postgresql.conf', "authlog.mirror_test_pause_before_advance = on");
$node->reload;
record_events($node, 'paused', 1);
wait_for_mirror_state($node, 'paused');

# Meanwhile: events, one transaction whose commit record is large, events.
record_events($node, 'batch-a', 10);
my $made = $node->safe_psql('postgres', 'SELECT authlog.create_partitions(120)');
ok($made >= 100, "one transaction made $made partitions");
record_events($node, 'batch-c', 10);

# The batch after the pause reads them all; then the stream goes on.
$node->append_conf('postgresql.conf', "authlog.mirror_test_pause_before_advance = off");
$node->reload;
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
record_events($node, 'after', 40);
verify_mirror($node, 'after a large record in a batch');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no worker crashed');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}), '0',
	'the sealer, which read the same WAL, sealed every event');

$node->stop;
stop_store($store);
done_testing();
