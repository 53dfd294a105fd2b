# Without shared_preload_libraries authlog has no shared memory: the write
# path works as before, and authlog.stat_events fails with a hint that says
# how to enable it, rather than showing empty counters.  Preloaded, the same
# statements count, and pairs beyond authlog.stat_max_entries still count.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('not_preloaded');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION authlog');

is($node->safe_psql('postgres',
	q{SELECT decision FROM authlog.record_login('t1', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web')}),
	'failed', 'record_login works without preloading');

my ($ret, $stdout, $stderr) = $node->psql('postgres',
	q{\set VERBOSITY verbose
	  SELECT * FROM authlog.stat_events});
isnt($ret, 0, 'stat_events is an error, not an empty view');
like($stderr, qr/55000: authlog event statistics are not available/, 'with its errcode and message');
like($stderr, qr/HINT:  Add authlog to shared_preload_libraries/, 'and a hint saying how to enable them');

($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.stat_reset()});
like($stderr, qr/shared_preload_libraries/, 'stat_reset says the same');

$node->append_conf('postgresql.conf', "shared_preload_libraries = 'authlog'\nauthlog.stat_max_entries = 10");
$node->restart;
$node->safe_psql('postgres',
	q{SELECT authlog.record_login('t1', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web')});
is($node->safe_psql('postgres',
	q{SELECT event_type || '=' || events FROM authlog.stat_events WHERE tenant_id = 't1'}),
	'login_failed=1', 'preloaded, the events committed since the start are counted');

# more tenant/organisation pairs than authlog.stat_max_entries: the rest are
# counted together in a row with no tenant, not lost
$node->safe_psql('postgres',
	q{SELECT authlog.record_login('t' || n, 'o1', 'u1', false, '192.0.2.1', 'ua', 'web') FROM generate_series(2, 12) n});
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE tenant_id IS NOT NULL) || ' pairs, '
	       || sum(events) FILTER (WHERE tenant_id IS NULL) || ' overflow, '
	       || sum(events) || ' in all'
	FROM authlog.stat_events}),
	'10 pairs, 2 overflow, 12 in all', 'pairs beyond stat_max_entries are counted in the overflow row');

$node->stop;
done_testing();
