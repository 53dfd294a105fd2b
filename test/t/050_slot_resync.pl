# The mirror's slot is dropped: the worker notices, creates it again and
# copies the tables under a later snapshot (a resync), then streams from the
# new slot.  Nothing committed while the slot was missing is skipped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('resync');
my $node = new_mirrored_node('resync', $store);
# a slow idle cycle, so the slot can be dropped between two peeks
$node->append_conf('postgresql.conf', "authlog.mirror_idle_advance = '30s'");
$node->reload;
record_events($node, 'resync-tenant', 100);
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

# the slot is active only while the worker peeks or advances: retry the drop
$node->poll_query_until('postgres', q{
	SELECT CASE WHEN active THEN false
	            ELSE (SELECT true FROM pg_drop_replication_slot('authlog_mirror')) END
	FROM pg_replication_slots WHERE slot_name = 'authlog_mirror'
	UNION ALL SELECT true WHERE NOT EXISTS
	      (SELECT FROM pg_replication_slots WHERE slot_name = 'authlog_mirror')
	LIMIT 1}) or die 'could not drop the slot';
record_events($node, 'resync-tenant', 100);
$node->safe_psql('postgres', q{SELECT authlog.record_login('resync-tenant', 'o1', 'while-missing', true, '192.0.2.1', 'ua', 'web')});

$node->append_conf('postgresql.conf', "authlog.mirror_idle_advance = '1s'");
$node->reload;
verify_mirror($node, 'after the slot was dropped');
like(slurp_file($node->logfile), qr/authlog mirror: the slot is missing; copying the tables/,
	'the worker logged the resync');
is($node->safe_psql('postgres', q{SELECT resync_pending FROM authlog.worker_slots WHERE slot_name = 'authlog_mirror'}), 'f',
	'the resync is recorded as finished');

$node->stop;
stop_store($store);
done_testing();
