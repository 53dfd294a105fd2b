# Retention retires a partition of auth_logs whole, end to end: events
# sealed by the sealer and mirrored to the store; once every event of a
# partition is past its tenant's retention, the retention worker (as
# run_retention) writes the records naming them per seal and drops the
# partition, in one transaction.  The store removes the same events on the
# records; both verifiers report them retired and the rest ok.  The drop
# waits at most 50 ms at a time for auth_logs' lock, so a login goes on
# while it waits; if it cannot get the lock, nothing of it is written and
# the partition is left to the batches (a warning says so).
#
# A partition is a month; here the current month is split into three
# ranges a few seconds long (the worker makes no partition where one
# exists), so that two of them pass while the test runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('retire_partition');
my $node = new_mirrored_node('retire_partition', $store, "authlog.seal_interval = '1s'",
	"authlog.retention_interval = 0");

sub sealed_and_mirrored
{
	my ($what) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')");
	is($ret, 0, "$what: sealed and mirrored") or diag($stderr);
}

sub findings
{
	my ($verifier, $tenant) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(coalesce(seal_no::text, '-') || ' ' || status, ', ' ORDER BY seal_no, status)
		FROM (SELECT DISTINCT seal_no, status FROM authlog.$verifier('$tenant')) f});
}

# The worker made this month's partition at its start; it holds nothing yet.
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM authlog.auth_logs_partitions
	WHERE lower <= now() AND upper > now() AND NOT is_default}), 'the worker made this month\'s partition');
my $month = $node->safe_psql('postgres', q{
	SELECT partition FROM authlog.auth_logs_partitions WHERE lower <= now() AND upper > now() AND NOT is_default});
is($node->safe_psql('postgres', "SELECT count(*) FROM $month"), '0', 'and it is empty');
my ($t1, $t2) = split /\|/, $node->safe_psql('postgres', q{
	SELECT now() + interval '6 seconds', now() + interval '12 seconds'});
$node->safe_psql('postgres', qq{
	SET client_min_messages = warning;
	CREATE TEMP TABLE bounds AS SELECT lower, upper FROM authlog.auth_logs_partitions WHERE partition = '$month'::regclass;
	ALTER TABLE authlog.auth_logs DETACH PARTITION $month;
	DROP TABLE $month;
	CREATE TABLE authlog.auth_logs_first (LIKE authlog.auth_logs INCLUDING DEFAULTS);
	CREATE TABLE authlog.auth_logs_second (LIKE authlog.auth_logs INCLUDING DEFAULTS);
	CREATE TABLE authlog.auth_logs_rest (LIKE authlog.auth_logs INCLUDING DEFAULTS);
	DO \$\$
	DECLARE
		b record;
	BEGIN
		SELECT * INTO b FROM bounds;
		EXECUTE format('ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.auth_logs_first FOR VALUES FROM (%L) TO (%L)', b.lower, '$t1');
		EXECUTE format('ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.auth_logs_second FOR VALUES FROM (%L) TO (%L)', '$t1', '$t2');
		EXECUTE format('ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.auth_logs_rest FOR VALUES FROM (%L) TO (%L)', '$t2', b.upper);
	END
	\$\$;});

# Two tenants' events in the first range, sealed and in the store.
record_events($node, 'tenant-p', 21);
record_events($node, 'tenant-q', 14);
sealed_and_mirrored('the first range');
my $first_events = $node->safe_psql('postgres', q{SELECT count(*) FROM authlog.auth_logs_first});
is($first_events, $node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.auth_logs WHERE tenant_id IN ('tenant-p', 'tenant-q')}),
	"the first range holds them ($first_events events, with those authlog derived)");
$node->poll_query_until('postgres', "SELECT now() >= '$t1'") or die;
# tenant-q's next events, in the second range
record_events($node, 'tenant-q', 7);
sealed_and_mirrored('the second range');
my $second_events = $node->safe_psql('postgres', q{SELECT count(*) FROM authlog.auth_logs_second});
ok($second_events >= 7, "the second range holds them ($second_events events)");
$node->poll_query_until('postgres', "SELECT now() >= '$t2'") or die;
$node->safe_psql('postgres', q{
	SELECT authlog.set_retention('tenant-p', '1 second', 'records officer');
	SELECT authlog.set_retention('tenant-q', '1 second', 'records officer');});
sleep 2;

my $history = q{
	SELECT tenant_id || ' ' || user_id || ' ' || count(*) FROM authlog.auth_logs
	WHERE tenant_id IN ('tenant-p', 'tenant-q') GROUP BY tenant_id, user_id ORDER BY 1};
note("history before:\n" . $node->safe_psql('postgres', $history));

# A transaction holds auth_logs: the drop waits 50 ms at a time, a login
# goes on meanwhile, and after five tries nothing is retired.
my $records_before = $node->safe_psql('postgres', 'SELECT count(*) FROM authlog.records_log');
my $locker = $node->background_psql('postgres');
$locker->query_safe("BEGIN; SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 'nobody'");
my $retirer = $node->background_psql('postgres', on_error_stop => 0);
$retirer->query_until(qr/started/, "\\echo started\nSELECT * FROM authlog.retire_partition();\n");
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity
	WHERE query LIKE '%retire_partition()%' AND wait_event IN ('relation', 'PgSleep') AND pid <> pg_backend_pid()}),
	'the retirement waits for auth_logs\' lock');
my $login = $node->safe_psql('postgres', q{
	SELECT decision FROM authlog.record_login('tenant-z', 'o1', 'someone', true, '203.0.113.9', 'ua', 'web')});
is($login, 'allowed', 'a login meanwhile is recorded');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%retire_partition()%' AND state = 'active'
	AND pid <> pg_backend_pid()}), '1', 'while the retirement still waits: the login did not wait behind it');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE query LIKE '%retire_partition()%' AND state = 'active'
	AND pid <> pg_backend_pid()}), 'the retirement gives up');
$retirer->quit;
like($retirer->{stderr}, qr/WARNING:  authlog retention: authlog\.auth_logs_first is not retired whole\n.*DETAIL:  could not lock authlog\.auth_logs to retire authlog\.auth_logs_first \(5 tries of 50 ms\)/s,
	'and says why, as a warning: the partition is left to the batches');
is($node->safe_psql('postgres', 'SELECT count(*) FROM authlog.records_log'), $records_before,
	'no record was written');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.auth_logs_first}), $first_events, 'no event was removed');
$locker->query_safe('COMMIT');
$locker->quit;

# The worker's own pass: both ranges whole, each in one transaction, nobody calling.
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET authlog.retention_interval = '1s';
	SELECT pg_reload_conf();});
ok($node->poll_query_until('postgres', q{
	SELECT to_regclass('authlog.auth_logs_first') IS NULL AND to_regclass('authlog.auth_logs_second') IS NULL}),
	'the retention worker retires both ranges whole: the partitions are dropped');
note("history after:\n" . $node->safe_psql('postgres', $history));
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.auth_logs WHERE tenant_id IN ('tenant-p', 'tenant-q')}), '0',
	'tenant-p and tenant-q have no event left');
is($node->safe_psql('postgres', q{
	SELECT string_agg(x.part || ' ' || x.events, ', ' ORDER BY x.part) FROM (
		SELECT substring(reason FROM 'auth_logs_(first|second) retired whole') AS part, sum(cardinality(retired)) AS events
		FROM authlog.records_log WHERE action = 'retired' GROUP BY 1) x}),
	"first $first_events, second $second_events", 'every event named by a record, per range');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.records_log WHERE action = 'retired' AND reason LIKE '%auth_logs_second%' AND kept > 0}), '0',
	'and the last records of a seal keep nothing of it');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.event_ids WHERE tenant_id IN ('tenant-p', 'tenant-q')}), '0',
	'their ids are gone too');

# The records are sealed and mirrored; the store removed what they name.
sealed_and_mirrored('after the retirement');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"tenant_id": {"$in": ["tenant-p", "tenant-q"]}}')}),
	'0', 'the store holds what PostgreSQL holds: none of them');
is($node->safe_psql('postgres',
	"SELECT string_agg(collection || ' ' || problem, ', ') FROM authlog.mirror_verify()"),
	'', 'mirror_verify finds no difference');
for my $tenant ('tenant-p', 'tenant-q')
{
	is(findings('verify_seals', $tenant), findings('verify_store_seals', $tenant),
		"both verifiers agree on $tenant");
	like(findings('verify_seals', $tenant), qr/^(\d+ (ok|retired)(, )?)+$/, "$tenant: every finding is ok or retired");
	like(findings('verify_seals', $tenant), qr/retired/, "$tenant: retired is reported");
}
note("verify_store_seals after:\n" . $node->safe_psql('postgres', q{
	SELECT tenant_id || ' ' || seal_no || ' ' || status || ' ' || coalesce(detail, '')
	FROM authlog.verify_store_seals() WHERE tenant_id IN ('tenant-p', 'tenant-q') ORDER BY tenant_id, seal_no, status}));
is($node->safe_psql('postgres', q{SELECT decision FROM authlog.auth_logs WHERE tenant_id = 'tenant-z'}), 'allowed',
	'the login recorded during the wait stays (its tenant keeps everything)');

done_testing();
