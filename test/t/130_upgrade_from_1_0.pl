# A DBA who installed 1.0 runs ALTER EXTENSION authlog UPDATE: the events,
# the seals and the store's copy are what they were, every seal still
# verifies, readers keep their grants under the new rules, and the sealer
# and the mirror carry on with the events written after the update.  The
# result is the same schema a fresh install of 1.1 makes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('upgrade');
my $node = new_mirrored_node('upgrade', $store, { version => '1.0' }, "authlog.seal_interval = '1s'");
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'authlog'}),
	'1.0', 'the cluster starts at 1.0');

# under 1.0: events, a lock, a help-desk reset, a reader, seals, the mirror
$node->safe_psql('postgres', q{
	SELECT authlog.set_lockout_policy('t-upgrade', 3, '1 hour', '15 minutes');
	CREATE ROLE upgrade_reader;
	SELECT authlog.grant_reader('upgrade_reader', 't-upgrade');
	CREATE ROLE upgrade_finance;
	SELECT authlog.grant_reader('upgrade_finance', 't-upgrade', 'finance');
});
record_events($node, 't-upgrade', 30);
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('t-upgrade', 'finance', 'cfo', false, '198.51.100.9', 'ua', 'web',
	                            log_id => ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid)
	FROM generate_series(1, 3) n;
	SELECT authlog.reset_lockout('t-upgrade', 'finance', 'cfo', 'helpdesk:ann', 'called in');
	SELECT authlog.record_login('t-upgrade', 'hr', 'vip', true, '198.51.100.10', 'ua', 'web');
});
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')});
my $events_sql = q{SELECT count(*) || ' ' || md5(string_agg(authlog.event_digest(l)::text, ',' ORDER BY tenant_id, log_id))
                   FROM authlog.auth_logs l};
my $seals_sql = q{SELECT count(*) || ' ' || md5(string_agg(digest::text, ',' ORDER BY tenant_id, seal_no)) FROM authlog.seals};
my $events_before = $node->safe_psql('postgres', $events_sql);
my $seals_before = $node->safe_psql('postgres', $seals_sql);
my $reader_timeline_before = $node->safe_psql('postgres', q{
	SET ROLE upgrade_finance;
	SELECT string_agg(event_type || ' ' || user_id, ',' ORDER BY occurred_at, recorded_at, log_id)
	FROM authlog.incident_timeline('t-upgrade', '-infinity', 'infinity')});
verify_mirror($node, 'under 1.0');

$node->safe_psql('postgres', q{ALTER EXTENSION authlog UPDATE TO '1.1'});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'authlog'}),
	'1.1', 'ALTER EXTENSION authlog UPDATE reaches 1.1');

is($node->safe_psql('postgres', $events_sql), $events_before, 'the events are unchanged, digest for digest');
is($node->safe_psql('postgres', $seals_sql), $seals_before, 'the seals are unchanged');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'0', 'every seal made under 1.0 verifies under 1.1');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_store_seals() WHERE status <> 'ok'}),
	'0', 'and against the store');
verify_mirror($node, 'after the update');

# the readers granted under 1.0 read what they read, through the functions only
is($node->safe_psql('postgres', q{
	SET ROLE upgrade_finance;
	SELECT string_agg(event_type || ' ' || user_id, ',' ORDER BY occurred_at, recorded_at, log_id)
	FROM authlog.incident_timeline('t-upgrade', '-infinity', 'infinity')}),
	$reader_timeline_before, 'an organisation reader granted under 1.0 reads the same events');
my ($rc, $out, $err) = $node->psql('postgres', q{SET ROLE upgrade_reader; SELECT count(*) FROM authlog.auth_logs});
like($err, qr/permission denied for table auth_logs/, 'a reader granted under 1.0 no longer selects the table');
is($node->safe_psql('postgres', q{
	SET ROLE upgrade_reader;
	SELECT count(*) FROM authlog.verify_seals('t-upgrade') WHERE status = 'ok'}),
	$node->safe_psql('postgres', q{SELECT count(*) FROM authlog.seals WHERE tenant_id = 't-upgrade'}),
	'a tenant reader granted under 1.0 verifies its seals');

# 1.1's rules for new calls; a 1.0 attempt's log_id cannot be matched, so it is refused, not answered
($rc, $out, $err) = $node->psql('postgres', q{
	SELECT authlog.record_login('t-upgrade', 'finance', 'cfo', false, '198.51.100.9', 'ua', 'web',
	                            log_id => '00000000-0000-4000-8000-000000000001')});
like($err, qr/LA001|recorded for a different call/, 'a retry of an attempt recorded under 1.0 is refused (LA001)');
$node->psql('postgres', q{\set VERBOSITY verbose
	SELECT authlog.record_login('t-upgrade', 'finance', 'cfo', false, '198.51.100.9', 'ua', 'web',
	                            log_id => '00000000-0000-4000-8000-000000000001')}, stderr => \$err);
like($err, qr/ERROR:  LA001:/, 'with its own SQLSTATE');
is($node->safe_psql('postgres', q{
	SELECT decision FROM authlog.record_login('t-upgrade', 'finance', 'cfo', false, '198.51.100.9', 'ua', 'web',
	                                          log_id => '00000000-0000-4000-8000-0000000011a1');
	SELECT decision FROM authlog.record_login('t-upgrade', 'finance', 'cfo', false, '198.51.100.9', 'ua', 'web',
	                                          log_id => '00000000-0000-4000-8000-0000000011a1')}),
	"failed\nfailed", 'a new attempt and its retry under 1.1');
# every account recorded under 1.0 keeps its organisation: one that only logged in too
is($node->safe_psql('postgres', q{
	SELECT string_agg(user_id || ' ' || organisation_id, ', ' ORDER BY user_id)
	FROM authlog.account_organisations WHERE user_id IN ('cfo', 'vip')}),
	'cfo finance, vip hr', 'the update registers the organisation of every account recorded under 1.0');
($rc, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
	SELECT authlog.record_login('t-upgrade', 'finance', 'vip', true, '198.51.100.10', 'ua', 'web')});
like($err, qr/ERROR:  LA002:/, 'and a call naming another organisation is refused (LA002)');
record_events($node, 't-upgrade', 10);

# the workers seal and mirror what came after
verify_mirror($node, 'with events written after the update');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'0', 'the sealer chains the new events to the 1.0 seals');

# the same schema as a fresh 1.1 install (built from schema/): every object,
# definition, column, constraint, index, trigger, policy, comment and privilege
my $schema_sql = slurp_file("$FindBin::RealBin/../schema_fingerprint.sql");
my $upgraded = $node->safe_psql('postgres', $schema_sql);
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', q{
	CREATE EXTENSION authlog;
	SELECT authlog.grant_reader('upgrade_reader', 't-upgrade');
	SELECT authlog.grant_reader('upgrade_finance', 't-upgrade', 'finance');
});
my $fresh = $node->safe_psql('fresh', $schema_sql);
like($fresh, qr/^column authlog\.reader_grants 5 role_name text notnull true/m,
	'the fingerprint sees columns, so it can tell two schemas apart');
is($fresh, $upgraded, 'the updated schema is the one a fresh 1.1 install makes');

$node->stop;
stop_store($store);
done_testing();
