# Retention, end to end: events sealed by the sealer and mirrored to the
# store are retired past their tenant's retention by CALL run_retention()
# and by the retention worker's own passes, never under a legal hold; each
# removal is a sealed, mirrored record, on which the store removes the same
# events; both verifiers report the removed ones as retired and the rest
# ok, and a deletion without a record as row_deleted.  A crash in the
# middle of a pass leaves every batch whole, and the next run resumes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('retention');
my $node = new_mirrored_node('retention', $store, "authlog.seal_interval = '1s'",
	"authlog.retention_interval = 0");

# Every removal accounted for: no sealed member of a tenant is gone
# without a record naming it, and no member a record names is still there
# (tenant-k aside, whose event is deleted by hand below).
sub removals_accounted
{
	my ($what) = @_;
	is($node->safe_psql('postgres', q{
		WITH named AS (SELECT r.tenant_id, x.log_id FROM authlog.records_log r, unnest(r.retired) x(log_id)
		               WHERE r.action = 'retired'),
		     sealed AS (SELECT s.tenant_id, m.log_id FROM authlog.seals s, unnest(s.members) m(log_id)
		                WHERE s.tenant_id <> 'tenant-k')
		SELECT (SELECT count(*) FROM sealed s
		        WHERE NOT EXISTS (SELECT 1 FROM authlog.auth_logs e WHERE e.tenant_id = s.tenant_id AND e.log_id = s.log_id)
		          AND NOT EXISTS (SELECT 1 FROM authlog.access_log a WHERE a.tenant_id = s.tenant_id AND a.access_id = s.log_id)
		          AND NOT EXISTS (SELECT 1 FROM authlog.records_log r WHERE r.tenant_id = s.tenant_id AND r.record_id = s.log_id)
		          AND NOT EXISTS (SELECT 1 FROM named n WHERE n.tenant_id = s.tenant_id AND n.log_id = s.log_id))
		    || ' ' ||
		       (SELECT count(*) FROM named n
		        WHERE EXISTS (SELECT 1 FROM authlog.auth_logs e WHERE e.tenant_id = n.tenant_id AND e.log_id = n.log_id))}),
		'0 0', "$what: every removed event has its record, and every recorded one is gone");
}

sub findings
{
	my ($verifier, $tenant) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(coalesce(seal_no::text, '-') || ' ' || status, ', ' ORDER BY seal_no, status)
		FROM (SELECT DISTINCT seal_no, status FROM authlog.$verifier('$tenant')) f});
}

sub sealed_and_mirrored
{
	my ($what) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')");
	is($ret, 0, "$what: sealed and mirrored") or diag($stderr);
}

# Two tenants' events, sealed and in the store.
record_events($node, 'tenant-r', 28);
record_events($node, 'tenant-k', 10);
sealed_and_mirrored('before retention');
my $k_events = $node->safe_psql('postgres', "SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 'tenant-k'");
my $held_events = $node->safe_psql('postgres',
	"SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 'tenant-r' AND user_id = 'user3'");
ok($held_events > 0, "user3 of tenant-r has events ($held_events)");

# A hold on user3, then a retention of one second: everything else of tenant-r goes.
$node->safe_psql('postgres', q{
	SELECT authlog.place_hold('tenant-r', '-infinity', NULL, 'CASE-7', 'legal counsel', user_id => 'user3');
	SELECT authlog.set_retention('tenant-r', '1 second', 'records officer');});
sleep 2;
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'CALL authlog.run_retention(10)');
is($ret, 0, 'run_retention runs') or diag($stderr);
like($stderr, qr/events retired so far: \d+/, 'and shows its progress batch by batch');
like($stderr, qr/pass finished; events retired: \d+/, 'and its end');
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT tenant_id || ':' || user_id, ' ') FROM authlog.auth_logs WHERE tenant_id = 'tenant-r'}),
	'tenant-r:user3', 'tenant-r keeps only what the hold covers');
is($node->safe_psql('postgres', "SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 'tenant-k'"),
	$k_events, 'tenant-k, without a retention, keeps everything');
ok($node->safe_psql('postgres',
	"SELECT count(*) FROM authlog.records_log WHERE action = 'retired'") >= 3,
	'in bounded batches, each a record');
removals_accounted('after the run');

# The records are sealed and mirrored; the store removed what they name.
sealed_and_mirrored('after retention');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.records_log r
	WHERE NOT EXISTS (SELECT 1 FROM authlog.seal_members m WHERE m.tenant_id = r.tenant_id AND m.log_id = r.record_id)}),
	'0', 'every record is sealed in its tenant\'s chain');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"tenant_id": "tenant-r"}'))
	    || ' ' || (SELECT count(*) FROM authlog.mirror_find('records_log', '{}'))}),
	$held_events . ' ' . $node->safe_psql('postgres', 'SELECT count(*) FROM authlog.records_log'),
	'the store holds what PostgreSQL holds: the held events, and every record');
is($node->safe_psql('postgres',
	"SELECT string_agg(collection || ' ' || problem, ', ') FROM authlog.mirror_verify()"),
	'', 'mirror_verify finds no difference');

# Both verifiers: retired where a record removed events, ok everywhere.
is(findings('verify_seals', 'tenant-r'), findings('verify_store_seals', 'tenant-r'),
	'both verifiers agree on tenant-r');
like(findings('verify_seals', 'tenant-r'), qr/^(\d+ (ok|retired)(, )?)+$/, 'every finding is ok or retired');
like(findings('verify_seals', 'tenant-r'), qr/retired/, 'retired is reported');
unlike($node->safe_psql('postgres', q{
	SELECT string_agg(status, ' ') FROM authlog.verify_store_seals() WHERE status NOT IN ('ok', 'retired')}),
	qr/\S/, 'the store\'s copy verifies: no finding but ok and retired');
like($node->safe_psql('postgres', q{
	SELECT detail FROM authlog.verify_store_seals('tenant-r') WHERE status = 'retired' LIMIT 1}),
	qr/^\d+ of its members retired by record [0-9a-f-]{36} at .*: retention of tenant tenant-r/,
	'with the record that retired them and why');

# A deletion without a record is tampering; the store keeps the original.
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	DELETE FROM authlog.auth_logs WHERE log_id = (SELECT log_id FROM authlog.auth_logs WHERE tenant_id = 'tenant-k' ORDER BY log_id LIMIT 1)});
like(findings('verify_seals', 'tenant-k'), qr/row_deleted/, 'a deletion without a record is row_deleted');
sealed_and_mirrored('after the tampering');
unlike(findings('verify_store_seals', 'tenant-k'), qr/row_deleted|retired/, 'and the store still has the event');

# The worker's own passes: tenant-w's events go on its schedule, nobody calling.
record_events($node, 'tenant-w', 12);
sealed_and_mirrored('tenant-w');
my $w_events = $node->safe_psql('postgres', "SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 'tenant-w'");
$node->safe_psql('postgres', q{
	SELECT authlog.set_retention('tenant-w', '1 second', 'records officer');
	ALTER SYSTEM SET authlog.retention_interval = '1s';
	SELECT pg_reload_conf();});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM authlog.auth_logs WHERE tenant_id = 'tenant-w'"),
	'the retention worker retires past-retention events on its own');
ok($node->poll_query_until('postgres',
	"SELECT last_result LIKE 'events retired: $w_events,%' FROM authlog.retention_status WHERE tenant_id = 'tenant-w'"),
	'and retention_status says so') or diag($node->safe_psql('postgres', 'TABLE authlog.retention_status'));
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET authlog.retention_interval = 0;
	SELECT pg_reload_conf();});

# A crash in the middle of a pass: tenant-c1's first batches are committed,
# the batch that reaches tenant-c2 waits for its lock (held here) when the
# server stops; nothing is half-removed, and the next run goes on.
record_events($node, 'tenant-c1', 15);
record_events($node, 'tenant-c2', 15);
sealed_and_mirrored('tenant-c1 and tenant-c2');
$node->safe_psql('postgres', q{
	SELECT authlog.set_retention('tenant-c1', '1 second', 'records officer');
	SELECT authlog.set_retention('tenant-c2', '1 second', 'records officer');});
sleep 2;
my $locker = $node->background_psql('postgres');
$locker->query_safe("SELECT pg_advisory_lock(hashtext('authlog retention tenant-c2'))");
my $runner = $node->background_psql('postgres', on_error_stop => 0);
$runner->query_until(qr/started/, "\\echo started\nCALL authlog.run_retention(4);\n");
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'}),
	'the pass reached tenant-c2 and waits');
my $c1_before = $node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.records_log r, unnest(r.retired) x WHERE r.tenant_id = 'tenant-c1'});
ok($c1_before > 0, "tenant-c1's first batches committed ($c1_before events retired)");
$node->stop('immediate');
$node->start;
eval { $runner->quit; };
eval { $locker->quit; };
removals_accounted('after the crash');
($ret, $stdout, $stderr) = $node->psql('postgres', 'CALL authlog.run_retention(4)');
is($ret, 0, 'the next run completes') or diag($stderr);
is($node->safe_psql('postgres',
	"SELECT count(*) FROM authlog.auth_logs WHERE tenant_id IN ('tenant-c1', 'tenant-c2')"),
	'0', 'and both tenants are retired');
removals_accounted('after the next run');
sealed_and_mirrored('after the next run');
like(findings('verify_store_seals', 'tenant-c2'), qr/^(\d+ (ok|retired)(, )?)+$/,
	'the store\'s copy of tenant-c2 verifies: ok and retired');

done_testing();
