# A seal's anchors (the LOG line and NOTIFY authlog_seal) go out after the
# cut commits, in a transaction of their own: an anchor that cannot be sent
# is logged and counted, and never fails the cut.  A listener idle in a
# transaction and enough NOTIFY traffic from any role fill the notification
# queue, and then NOTIFY fails at commit; PostgreSQL 15 has no setting for
# the queue's size, so the failure is injected at the same place
# (authlog.seal_test_fail_anchor, test only).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('anchor_failure');
my $node = new_mirrored_node('anchor_failure', $store, "authlog.seal_interval = '1s'");
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});

$node->safe_psql('postgres',
	q{ALTER SYSTEM SET authlog.seal_test_fail_anchor = on; SELECT pg_reload_conf()});
record_events($node, 't-anchor', 20);
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.seal_now('30s')});
is($ret, 0, 'the cut commits although its NOTIFY cannot be sent') or diag($stderr);
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.auth_logs l
	WHERE NOT EXISTS (SELECT 1 FROM authlog.seal_members m WHERE m.tenant_id = l.tenant_id AND m.log_id = l.log_id)}),
	'0', 'every event is sealed');
cmp_ok($node->safe_psql('postgres', q{SELECT anchors_failed FROM authlog.sealer_status()}), '>', 0,
	'sealer_status counts the anchors that could not be sent');
is($node->safe_psql('postgres', q{SELECT state FROM authlog.sealer_status()}), 'sealing',
	'the sealer is not backing off');
ok($node->log_contains(qr/WARNING:  authlog sealer: could not send NOTIFY authlog_seal/),
	'the failure is logged');
ok($node->log_contains(qr/LOG:  authlog anchor [0-9a-f]{64}/),
	'the anchor still reaches the server log');

$node->safe_psql('postgres',
	q{ALTER SYSTEM RESET authlog.seal_test_fail_anchor; SELECT pg_reload_conf()});
record_events($node, 't-anchor', 5);
verify_mirror($node, 'after anchors failed');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'0', 'every seal verifies');
$node->stop;
stop_store($store);
done_testing();
