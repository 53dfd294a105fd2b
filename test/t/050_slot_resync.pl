# The mirror's slot is dropped: the worker notices, creates it again and
# copies the tables under a later snapshot (a resync), then streams from the
# new slot.  Nothing committed while the slot was missing is skipped.  While
# the mirror streams, it holds its slot: nobody can drop (or read) it; a DBA
# turns the mirror off first, which releases it.
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
record_events($node, 'resync-tenant', 100);
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

my ($rc, $out, $err) = $node->psql('postgres', q{SELECT pg_drop_replication_slot('authlog_mirror')});
like($err, qr/replication slot "authlog_mirror" is active for PID \d+/,
	'while the mirror streams, its slot cannot be dropped');
($rc, $out, $err) = $node->psql('postgres', q{SELECT count(*) FROM pg_logical_slot_peek_binary_changes('authlog_mirror', NULL, NULL)});
like($err, qr/is active for PID/, 'nor read by anyone else');

# the mirror turned off releases the slot; a DBA drops it
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.mirror_uri = ''; SELECT pg_reload_conf()});
wait_for_mirror_state($node, 'disabled');
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('authlog_mirror')});
record_events($node, 'resync-tenant', 100);
$node->safe_psql('postgres', q{SELECT authlog.record_login('resync-tenant', 'o1', 'while-missing', true, '192.0.2.1', 'ua', 'web')});

$node->safe_psql('postgres', q{ALTER SYSTEM RESET authlog.mirror_uri; SELECT pg_reload_conf()});
verify_mirror($node, 'after the slot was dropped');
like(slurp_file($node->logfile), qr/authlog mirror: the slot is missing; copying the tables/,
	'the worker logged the resync');
is($node->safe_psql('postgres', q{SELECT resync_pending FROM authlog.worker_slots WHERE slot_name = 'authlog_mirror'}), 'f',
	'the resync is recorded as finished');

$node->stop;
stop_store($store);
done_testing();
