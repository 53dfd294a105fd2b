# The sliding windows of authlog.stat_events: an event leaves last_minute
# about a minute after it committed, stays in last_hour and in events, and
# new events count in both windows again.  Slow by nature (a minute), so in
# make test-long.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('windows');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'authlog'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION authlog');

my $counts = q{SELECT events || ' ' || last_minute || ' ' || last_hour FROM authlog.stat_events
	WHERE tenant_id = 't-window' AND event_type = 'login_failed'};
my $started = time();
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('t-window', 'o1', 'u' || n, false, '192.0.2.1', 'ua', 'web')
	FROM generate_series(1, 3) n});
is($node->safe_psql('postgres', $counts), '3 3 3', 'just committed: in both windows');

ok($node->poll_query_until('postgres',
		q{SELECT last_minute = 0 FROM authlog.stat_events WHERE tenant_id = 't-window' AND event_type = 'login_failed'}),
	'the events leave the last minute');
my $elapsed = time() - $started;
cmp_ok($elapsed, '>=', 59, "not before a minute has passed ($elapsed s)");
cmp_ok($elapsed, '<=', 62, "and not much after ($elapsed s)");
is($node->safe_psql('postgres', $counts), '3 0 3', 'still in the last hour and in the total');

$node->safe_psql('postgres',
	q{SELECT authlog.record_login('t-window', 'o1', 'u9', false, '192.0.2.1', 'ua', 'web')});
is($node->safe_psql('postgres', $counts), '4 1 4', 'a new event counts in both windows');

$node->stop;
done_testing();
