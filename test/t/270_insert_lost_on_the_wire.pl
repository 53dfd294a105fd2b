# An insert lost on the wire: the mirror sends a bulk of inserts and the
# connection drops before the store has it (a proxy closes it instead of
# forwarding the command), as when the store goes down between a request
# and its reply.  The driver's reply then carries no write error at all;
# it must count as a failure, never as an acknowledgement, or the slot
# moves past events the store never got.  Once with one dropped command of
# several inserts (the mirror resends at once in smaller bulks), once with
# dropped commands of one insert each (the batch fails, the stream closes,
# the next one reads the batch again from the slot), and once losing a
# bulk each time it is halved, down to one insert (then the batch fails and
# backs off, never resending at once for ever).  Batches of one
# transaction each (authlog.mirror_batch_size = 1), so which path a loss
# takes depends on the transactions alone: a bulk of one insert is not
# made smaller, its batch fails.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('wire');
my $proxy = start_store_proxy($store, 'wire');
my $node = new_mirrored_node('wire', $proxy, 'authlog.mirror_batch_size = 1');
record_events($node, 'tenant-a', 20);
verify_mirror($node, 'before any loss');

# one insert command lost, of a transaction recording ten logins (one
# bulk of ten inserts): the same batch goes again at once in smaller bulks
my $log_offset = -s $node->logfile;
drop_store_inserts($proxy, 'auth_logs', 1);
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('tenant-c', 'o', 'user' || n, true, '203.0.113.9', 'agent', 'web')
	FROM generate_series(1, 10) n});
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.mirror_sync('60s')});
is($ret, 0, 'the mirror caught up after an insert was lost on the wire') or diag($stderr);
is(store_inserts_dropped($proxy, 'auth_logs'), 1, 'the proxy dropped one insert command');
ok($node->log_contains(qr/a bulk did not come back from the store .*; going on in bulks of 5 inserts/, $log_offset),
	'the server log says the bulk did not come back, and the next bulks are half its size');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"tenant_id": "tenant-c"}')}),
	'10', 'every event of the lost bulk is in the store');
verify_mirror($node, 'after one insert lost on the wire');

# single-event transactions, four of their insert commands lost: each
# loss fails its batch, which is read again from the slot
$log_offset = -s $node->logfile;
drop_store_inserts($proxy, 'auth_logs', 4);
record_events($node, 'tenant-b', 5);
($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.mirror_sync('60s')});
is($ret, 0, 'the mirror caught up after four inserts were lost on the wire') or diag($stderr);
is(store_inserts_dropped($proxy, 'auth_logs'), 5, 'the proxy dropped four more insert commands');
ok($node->log_contains(qr/the document store did not acknowledge a batch/, $log_offset),
	'the server log says the batch was not acknowledged');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"tenant_id": "tenant-b"}')}),
	'5', 'every event of the failed batches is in the store');
verify_mirror($node, 'after a batch lost on the wire');

# a transaction of ten logins whose insert commands keep getting lost: the
# bulk is halved down to one insert, and then the batch fails and waits its
# backoff, rather than being sent again at once for ever
$log_offset = -s $node->logfile;
drop_store_inserts($proxy, 'auth_logs', 5);
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('tenant-d', 'o', 'user' || n, true, '203.0.113.9', 'agent', 'web')
	FROM generate_series(1, 10) n});
($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.mirror_sync('60s')});
is($ret, 0, 'the mirror caught up after five inserts of one transaction were lost') or diag($stderr);
is(store_inserts_dropped($proxy, 'auth_logs'), 10, 'the proxy dropped five more insert commands');
ok($node->log_contains(qr/going on in bulks of 1 inserts/, $log_offset),
	'the bulk was halved down to one insert');
ok($node->log_contains(qr/the document store did not acknowledge a batch/, $log_offset),
	'then the batch failed, to be read again after the backoff');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"tenant_id": "tenant-d"}')}),
	'10', 'every event of the transaction is in the store');
verify_mirror($node, 'after a bulk lost down to one insert');

$node->stop;
stop_store($store);
done_testing();
