# The sealer's slot consumed by someone else: a REPLICATION role reads
# authlog_seal with pg_logical_slot_get_binary_changes, and the events it
# decoded would never be sealed.  The sealer notices that its slot moved past
# where it left it, says so in the server log, and seals the gap from the
# table; while sealing is paused the verifiers say how many events wait
# instead of flagging each; and an event no seal lists is reported as
# unsealed once it is older than the interval and the skew.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('consumed');
my $node = new_mirrored_node('consumed', $store, "authlog.seal_interval = '1s'", "authlog.max_clock_skew = 0");

record_events($node, 'tenant-x', 10);
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});

# sealing paused: the verifiers say so once, not once per event
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.seal_interval = 0; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT state = 'paused' FROM authlog.sealer_status()})
  or die 'the sealer did not pause';
record_events($node, 'tenant-x', 10);
record_events($node, 'tenant-y', 10);
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT status, ',') FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'sealing_paused', 'while sealing is paused, verify_seals says so instead of flagging each event');
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
is($node->safe_psql('postgres', q{
	SELECT string_agg(status, ',') FROM authlog.verify_store_seals() WHERE status <> 'ok'}),
	'sealing_paused', 'and so does verify_store_seals');

# someone else consumes the sealer's slot: those 20 events are decoded there, not by the sealer
is($node->safe_psql('postgres', q{
	SELECT count(*) > 0 FROM pg_logical_slot_get_binary_changes('authlog_seal', NULL, NULL)}),
	't', 'a REPLICATION role consumed the sealer\'s slot');

# sealing resumes: the sealer notices, and seals the gap from the table
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{ALTER SYSTEM RESET authlog.seal_interval; SELECT pg_reload_conf()});
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.seal_interval = '1s'; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT state = 'sealing' FROM authlog.sealer_status()})
  or die 'the sealer did not resume';
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
ok($node->log_contains(qr/slot "authlog_seal" was consumed by another session/, $log_offset),
	'the sealer logs that its slot was consumed by another session');
my $events = $node->safe_psql('postgres', 'SELECT count(*) FROM authlog.auth_logs');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM authlog.seals s, unnest(s.members) m) || ' '
	    || (SELECT count(*) FROM authlog.auth_logs l
	        WHERE NOT EXISTS (SELECT 1 FROM authlog.seals s
	                          WHERE s.tenant_id = l.tenant_id AND l.log_id = ANY (s.members)))}),
	"$events 0", 'every event is sealed once, the consumed ones included');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'0', 'verify_seals finds nothing unsealed');
verify_mirror($node, 'after the gap was sealed');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_store_seals() WHERE status <> 'ok'}),
	'0', 'nor does verify_store_seals');

$node->stop;
stop_store($store);
done_testing();
