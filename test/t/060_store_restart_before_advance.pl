# The worker stops between the store's acknowledgement and the slot advance
# (the test-only GUC authlog.mirror_test_pause_before_advance, not a sleep);
# meanwhile the store restarts and the worker is terminated.  The batch is
# then applied a second time: the replay is harmless.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('pause');
my $node = new_mirrored_node('pause', $store);
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

$node->append_conf('postgresql.conf', "authlog.mirror_test_pause_before_advance = on");
$node->reload;
record_events($node, 'pause-tenant', 50);
wait_for_mirror_state($node, 'paused');
my $confirmed = $node->safe_psql('postgres', q{SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'authlog_mirror'});
my $written = $node->safe_psql('postgres', q{SELECT documents_written FROM authlog.mirror_status});

restart_store($store);
$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM authlog.mirror_status});
$node->append_conf('postgresql.conf', "authlog.mirror_test_pause_before_advance = off");
$node->reload;

is($node->safe_psql('postgres', q{SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'authlog_mirror'}),
	$confirmed, 'the slot had not advanced past the paused batch');
verify_mirror($node, 'after replaying an acknowledged batch');
cmp_ok($node->safe_psql('postgres', q{SELECT documents_written FROM authlog.mirror_status}), '>', 0,
	'the restarted worker applied the batch again');

$node->stop;
stop_store($store);
done_testing();
