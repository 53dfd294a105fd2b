# The store stops while writes go on: the mirror backs off and says why,
# logs the outage once, keeps the slot, and when the store is back resumes
# where the store acknowledged, losing and duplicating nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('outage');
my $node = new_mirrored_node('outage', $store);
record_events($node, 'outage-tenant', 50);
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

stop_store($store);
record_events($node, 'outage-tenant', 200);
wait_for_mirror_state($node, 'backing_off');
like($node->safe_psql('postgres', q{SELECT last_error FROM authlog.mirror_status}),
	qr/document store/, 'mirror_status names the store as the cause');
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.mirror_sync('2s')});
isnt($ret, 0, 'mirror_sync fails while the store is down');
like($stderr, qr/did not catch up within the timeout.*Last error: /s, 'and says why');
record_events($node, 'outage-tenant', 200);
sleep(3);    # several backoff rounds while the store stays down

restart_store($store);
verify_mirror($node, 'after a store outage');

my $log = slurp_file($node->logfile);
my $outage_lines = () = $log =~ /LOG:  authlog mirror: (could not connect|the document store did not acknowledge|could not create the document store's indexes)/g;
cmp_ok($outage_lines, '>=', 1, 'the outage is logged');
cmp_ok($outage_lines, '<=', 3, "once per change of error, not once per retry ($outage_lines lines)");
like($log, qr/authlog mirror: streaming again/, 'and so is the recovery');

$node->stop;
stop_store($store);
done_testing();
