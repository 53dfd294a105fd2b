# Load: 32 clients for 30 s of mixed record_login (failures, successes,
# lockouts, refusals), 100 logins/s in all, while the mirror streams and the
# store is restarted twice.  Afterwards every counter is exact -- the shared-memory event
# counters and each account's lockout count against a recount from
# auth_logs -- the store holds exactly what PostgreSQL holds, and the server
# log has no error but the expected outage messages.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $clients = $ENV{AUTHLOG_LOAD_CLIENTS} // 32;
my $seconds = $ENV{AUTHLOG_LOAD_SECONDS} // 30;
# logins per second over all clients: nearly every one updates an account,
# and FerretDB (SQLite) applies an update by _id in tens of milliseconds
# (a collection scan), so this is what it catches up on within minutes;
# MongoDB takes far more
my $rate = $ENV{AUTHLOG_LOAD_RATE} // 100;

my $store = start_store('load');
my $node = new_mirrored_node('load', $store, 'max_connections = 64');
$node->safe_psql('postgres', q{
	SELECT authlog.set_lockout_policy('load-' || t, 5, '1 hour', '1 hour') FROM generate_series(1, 10) t;
	SELECT authlog.stat_reset();});

# mixed logins over 3,000 accounts; retries are tested elsewhere (each is an
# update by _id, which FerretDB answers with a collection scan)
my $script = "${PostgreSQL::Test::Utils::tmp_check}/load.sql";
open(my $fh, '>', $script) or die $!;
print $fh <<'SQL';
\set t random(1, 10)
\set u random(1, 300)
\set s random(1, 100)
SELECT authlog.record_login('load-' || :t, 'o' || (:u % 3), 'user' || :u, :s <= 30,
	('198.51.100.' || (:u % 250))::inet, 'load/1.0', 'web');
SQL
close($fh);

my ($out, $err) = ('', '');
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', $clients, '-j', 2, '-T', $seconds, '-R', $rate, '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);

sleep($seconds / 3);
restart_store($store);
sleep($seconds / 3);
restart_store($store);
ok($pgbench->finish, 'pgbench ran without a failed transaction') or diag($err);
my ($transactions) = $out =~ /number of transactions actually processed: (\d+)/;
cmp_ok($transactions // 0, '>', $rate * $seconds / 2, "a real load (" . ($transactions // 0) . " logins)");

# the store takes minutes to catch up on a load FerretDB cannot keep up with
my ($ret, $sync_out, $sync_err) = $node->psql('postgres', q{SELECT authlog.mirror_sync('600s')});
is($ret, 0, 'the mirror caught up after the load') or diag($sync_err);
verify_mirror($node, 'after load with two store restarts');

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
		(SELECT tenant_id, organisation_id, event_type::text, events FROM authlog.stat_events WHERE tenant_id LIKE 'load-%'
		 EXCEPT
		 SELECT tenant_id, organisation_id, event_type::text, count(*) FROM authlog.auth_logs GROUP BY 1, 2, 3)
		UNION ALL
		(SELECT tenant_id, organisation_id, event_type::text, count(*) FROM authlog.auth_logs GROUP BY 1, 2, 3
		 EXCEPT
		 SELECT tenant_id, organisation_id, event_type::text, events FROM authlog.stat_events WHERE tenant_id LIKE 'load-%')) d}),
	'0', 'stat_events equals a recount of auth_logs');

# locks last an hour, so within the run each account locks at most once and
# stays locked: its lockout count is its number of account_locked events
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.account_lockouts a
	WHERE a.lockout_count <> (SELECT count(*) FROM authlog.auth_logs l
	                          WHERE l.tenant_id = a.tenant_id AND l.user_id = a.user_id
	                            AND l.event_type = 'account_locked')
	   OR (a.account_locked_until IS NOT NULL) <> (a.lockout_count > 0)}),
	'0', 'every account\'s lockout count equals its recorded lockouts');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.account_lockouts a
	WHERE a.account_locked_until IS NOT NULL
	  AND a.failed_login_attempts <> 5}),
	'0', 'every locked account was locked at the threshold');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.auth_logs WHERE tenant_id LIKE 'load-%' AND event_type = 'login_failed'
	  AND reason IS NULL AND failed_login_attempts > 5}),
	'0', 'no failure counted past the threshold');

my $log = slurp_file($node->logfile);
my @errors = grep { !/authlog mirror: (could not connect|the document store did not acknowledge)/ }
  ($log =~ /^.*(?:ERROR|FATAL|PANIC):.*$/mg);
is(scalar(@errors), 0, 'the server log has no error but the expected outage messages')
  or diag(join("\n", @errors[0 .. ($#errors < 9 ? $#errors : 9)]));

$node->stop;
stop_store($store);
done_testing();
