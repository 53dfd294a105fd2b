# The audit trail survives pg_dump and pg_restore: every data table of
# authlog is registered with pg_extension_config_dump, so a restored database
# holds the same events, lockout state, policies and reader grants, and the
# write path picks up where it left off (a retried log_id is still a retry).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION authlog;
	CREATE ROLE dump_reader;
	SELECT authlog.grant_reader('dump_reader', 't1', 'o1');
	SELECT authlog.set_lockout_policy('t1', 3, '10 minutes', '5 minutes', 2, '1 hour');
	SELECT authlog.record_login('t1', 'o1', 'u' || (n % 4), n % 5 = 0, ('198.51.100.' || n)::inet,
	                            'agent ' || n, 'web', jsonb_build_object('n', n, 'x.y', 'dotted'),
	                            ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid)
	FROM generate_series(1, 40) n;
	SELECT authlog.reset_lockout('t1', 'o1', 'u1', 'helpdesk', 'restored?');
});

my $events_sql = q{
	SELECT tenant_id, log_id, organisation_id, user_id, event_type, ip_address, user_agent,
	       auth_path, occurred_at, recorded_at, metadata, reason, actor, decision,
	       failed_login_attempts, account_locked_until, retry_count
	FROM authlog.auth_logs ORDER BY tenant_id, log_id};
my $state_sql = q{
	SELECT * FROM authlog.account_lockouts ORDER BY tenant_id, user_id;
	SELECT * FROM authlog.lockout_policies ORDER BY tenant_id;
	SELECT role::text, tenant_id, organisation_id FROM authlog.reader_grants ORDER BY 1, 2, 3};

my $events_before = $node->safe_psql('postgres', $events_sql);
my $state_before = $node->safe_psql('postgres', $state_sql);
my ($count) = $node->safe_psql('postgres', 'SELECT count(*) FROM authlog.auth_logs');
cmp_ok($count, '>=', 41, "the source holds the campaign ($count events)");

my $dump = $node->basedir . '/authlog.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ],
	'pg_dump of a database with authlog');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ],
	'pg_restore into a fresh database');

is($node->safe_psql('restored', $events_sql), $events_before,
	'every event is restored, column for column');
is($node->safe_psql('restored', $state_sql), $state_before,
	'lockout state, policies and reader grants are restored');

# the write path continues on the restored trail
is($node->safe_psql('restored', q{
	SELECT decision || ' ' || failed_login_attempts FROM authlog.record_login('t1', 'o1', 'u1', false,
		'198.51.100.1', 'agent 1', 'web', jsonb_build_object('n', 1, 'x.y', 'dotted'),
		'00000000-0000-4000-8000-000000000001')}),
	$node->safe_psql('postgres', q{SELECT decision || ' ' || failed_login_attempts FROM authlog.auth_logs
		WHERE log_id = '00000000-0000-4000-8000-000000000001'}),
	'a retry of a dumped event returns its recorded decision (its fingerprint was dumped too)');
my ($rc, $out, $err) = $node->psql('restored', q{
	SELECT authlog.record_login('t1', 'o1', 'u1', false, '198.51.100.1', 'agent 1', 'web', '{}',
		'00000000-0000-4000-8000-000000000001')});
like($err, qr/was recorded for a different call/, 'and a different call under its log_id is refused after the restore');
is($node->safe_psql('restored', q{SELECT count(*) FROM authlog.auth_logs}), $count,
	'and adds no event');

# the restored trail is still append-only
my ($ret, $stdout, $stderr) = $node->psql('restored', 'DELETE FROM authlog.auth_logs');
isnt($ret, 0, 'the restored trail is append-only');
like($stderr, qr/DELETE on auth_logs is not allowed/, 'with the append-only error');

$node->stop;
done_testing();
