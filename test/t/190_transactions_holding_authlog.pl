# Transactions that hold authlog back, named in its status views:
#   - any login role that keeps a transaction id open (idle in transaction,
#     or a prepared transaction) holds both slots' restart points, so WAL is
#     retained until it ends: mirror_status and sealer_status() name the
#     oldest such transaction (pid or prepared gid, role, since when);
#   - a prepared transaction of the auth service around record_login keeps
#     the account's row locked across restarts, and that account's logins
#     wait: authlog.held_back names the transaction and the account.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('held_back');
my $node = new_mirrored_node('held_back', $store, 'max_prepared_transactions = 5',
	"authlog.seal_interval = '1s'");
$node->safe_psql('postgres', q{
	CREATE ROLE nobody LOGIN;
	SELECT authlog.seal_now('60s');
	SELECT authlog.mirror_sync('60s');
	CREATE TABLE other_work (x text);});

is($node->safe_psql('postgres', q{SELECT held_back_by IS NULL FROM authlog.mirror_status}), 't',
	'nothing holds the mirror back at rest');

# a role without a single grant, idle in a transaction with an id
my $idle = $node->background_psql('postgres', extra_params => [ '-U', 'nobody' ]);
$idle->query_safe('BEGIN');
$idle->query_safe('SELECT txid_current()');
my $pid = $idle->query_safe('SELECT pg_backend_pid()');
$node->safe_psql('postgres', q{INSERT INTO other_work SELECT repeat('w', 1000) FROM generate_series(1, 40000)});
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
like($node->safe_psql('postgres', q{SELECT held_back_by FROM authlog.mirror_status}),
	qr/^pid $pid \(role nobody, idle in transaction\)$/, 'mirror_status names the idle transaction');
like($node->safe_psql('postgres', q{SELECT held_back_by FROM authlog.sealer_status()}),
	qr/^pid $pid /, 'so does sealer_status()');
is($node->safe_psql('postgres', q{
	SELECT held_back_since <= now() - interval '0 s' AND held_back_since > now() - interval '10 min'
	FROM authlog.mirror_status}), 't', 'with the time it started');
$node->poll_query_until('postgres', q{SELECT retained_wal_bytes > 30000000 FROM authlog.mirror_status})
  or die 'the slot never retained the other work\'s WAL';
pass('the slot retains WAL of other work while the transaction is open');
$idle->query_safe('COMMIT');
ok($node->poll_query_until('postgres', q{
	SELECT held_back_by IS NULL AND retained_wal_bytes < 30000000 FROM authlog.mirror_status}),
	'once it ends, the WAL is released and nothing is named');

# the same as a prepared transaction, which outlives its session and restarts
$idle->query_safe('BEGIN');
$idle->query_safe('SELECT txid_current()');
$idle->query_safe(q{PREPARE TRANSACTION 'pin-wal'});
like($node->safe_psql('postgres', q{SELECT held_back_by FROM authlog.mirror_status}),
	qr/^prepared transaction 'pin-wal' \(role nobody\)$/, 'mirror_status names the prepared transaction');
$node->restart;
like($node->safe_psql('postgres', q{SELECT held_back_by FROM authlog.sealer_status()}),
	qr/^prepared transaction 'pin-wal'/, 'across a restart');
$node->safe_psql('postgres', q{ROLLBACK PREPARED 'pin-wal'});
$idle->quit;

# the auth service prepares a transaction around record_login
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('t-held', 'o1', 'victim', false, '192.0.2.1', 'ua', 'web');
	BEGIN;
	SELECT authlog.record_login('t-held', 'o1', 'victim', false, '192.0.2.1', 'ua', 'web');
	PREPARE TRANSACTION 'auth-42';});
is($node->safe_psql('postgres', q{
	SELECT holds || ' ' || prepared_gid || ' ' || detail FROM authlog.held_back WHERE holds = 'account'}),
	q{account auth-42 holds the row lock of account t-held/victim: its logins wait until the transaction is committed or rolled back},
	'authlog.held_back names the prepared transaction and the account it locks');
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET lock_timeout = '1s';
	SELECT authlog.record_login('t-held', 'o1', 'victim', false, '192.0.2.1', 'ua', 'web')});
like($stderr, qr/lock timeout/, 'the account\'s next login waits for it');
$node->safe_psql('postgres', q{ROLLBACK PREPARED 'auth-42'});
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.held_back WHERE holds = 'account'}), '0',
	'once it is rolled back, nothing is named');
verify_mirror($node, 'after transactions held authlog back');
$node->stop;
stop_store($store);
done_testing();
