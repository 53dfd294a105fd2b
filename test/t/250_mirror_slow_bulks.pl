# A store too slow for the mirror's bulks: each bulk of updates that does
# not come back in time is sent again at once in smaller bulks, down to one
# write, so the mirror keeps going (its lag grows, it never stalls sending
# the same bulk forever), and grows them back after batches that go
# through.  The store here answers bulks of more than 3 updates with a
# socket timeout (authlog.mirror_test_bulk_timeout_over, a test setting).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('slow_bulks');
my $node = new_mirrored_node('slow_bulks', $store, 'authlog.mirror_batch_size = 400');
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')});

# a first round to create the accounts: then their lockout state is updated
record_events($node, 'tenant-a', 14);
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.mirror_test_bulk_timeout_over = 3; SELECT pg_reload_conf()});
# the worker holds its settings from the next batch on
$node->poll_query_until('postgres', q{SELECT current_setting('authlog.mirror_test_bulk_timeout_over') = '3'})
  or die 'the setting did not take';

# hundreds of updates of account_lockouts, arriving as large batches
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.mirror_idle_advance = '30s'; SELECT pg_reload_conf()});
record_events($node, 'tenant-a', 300);
record_events($node, 'tenant-b', 300);
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.mirror_sync('120s')});
is($ret, 0, 'the mirror caught up though the store times out on bulks of more than 3 updates')
  or diag($stderr);
ok($node->log_contains(qr/a bulk did not come back from the store \(test: a bulk of \d+ writes timed out.*\); going on in bulks of [123] writes/,
	$log_offset), 'the server log says the bulks were made smaller');
is($node->safe_psql('postgres', q{SELECT documents_refused FROM authlog.mirror_status}), '0',
	'no document was set aside: a timeout says nothing of the documents');

$node->safe_psql('postgres', q{ALTER SYSTEM RESET authlog.mirror_test_bulk_timeout_over;
	ALTER SYSTEM RESET authlog.mirror_idle_advance; SELECT pg_reload_conf()});
verify_mirror($node, 'after the slow store');

$node->stop;
stop_store($store);
done_testing();
