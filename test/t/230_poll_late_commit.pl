# A reader following authlog.poll_events receives every event of its scope
# exactly once, in commit order, one committed late included: a transaction
# that began before others and commits after them holds the stream back
# until it ends, and a rolled-back one leaves nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('poll');
$node->init(allows_streaming => 'logical', extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', join("\n", "shared_preload_libraries = 'authlog'",
	(`postgres --describe-config 2>/dev/null` =~ /^output_plugin_libraries/m
		? "output_plugin_libraries = 'pgoutput, test_decoding, authlog'" : ()), ''));
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION authlog;
	CREATE ROLE siem LOGIN;
	SELECT authlog.grant_reader('siem', 'acme');
	SELECT authlog.record_login('acme', 'o1', 'early-' || n, false, '192.0.2.1', 'ua', 'web') FROM generate_series(1, 3) n;
	SELECT authlog.record_login('globex', 'o1', 'other', false, '192.0.2.1', 'ua', 'web');});

# the reader: pages of two, from the last position it received
my @received;
my $position;
sub poll
{
	my $got = 0;
	for (;;)
	{
		my $after = defined $position ? "'$position'" : 'NULL';
		my $page = $node->safe_psql('postgres', qq{
			SET ROLE siem;
			SELECT position || ' ' || user_id FROM authlog.poll_events('acme', $after, 2)});
		last if $page eq '';
		for my $line (split /\n/, $page)
		{
			my ($p, $user) = split / /, $line;
			push @received, $user;
			$position = $p;
			$got++;
		}
	}
	return $got;
}

is(poll(), 3, 'the first poll returns the events so far');

# a transaction that writes an event and stays open; others commit after it
my $late = $node->background_psql('postgres');
$late->query_safe('BEGIN');
$late->query_safe(q{SELECT authlog.record_login('acme', 'o1', 'late', false, '192.0.2.9', 'ua', 'web')});
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT authlog.record_login('acme', 'o1', 'rolled-back', false, '192.0.2.1', 'ua', 'web');
	ROLLBACK;});
$node->safe_psql('postgres', qq{SELECT authlog.record_login('acme', 'o1', 'after-' || n, false, '192.0.2.1', 'ua', 'web')
	FROM generate_series(1, 4) n});
is(poll(), 0, 'while an older transaction is open, nothing after it is returned');

$late->query_safe('COMMIT');
$late->quit;
is(poll(), 5, 'once it commits, the late event and those after it arrive');
is($received[3], 'late', 'the late event first, in commit order of the transactions that began');
is(poll(), 0, 'and nothing again');

my @expected = split /\n/, $node->safe_psql('postgres',
	q{SELECT user_id FROM authlog.auth_logs WHERE tenant_id = 'acme' ORDER BY user_id});
is(join(',', sort @received), join(',', @expected), 'every event of the scope exactly once, none rolled back, none of globex');

# filters, bounds and a broken position
is($node->safe_psql('postgres', q{SET ROLE siem;
	SELECT string_agg(user_id, ',' ORDER BY position) FROM authlog.poll_events('acme', NULL, 100, user_id => 'late')}),
	'late', 'a filter by user');
is($node->safe_psql('postgres', q{SET ROLE siem;
	SELECT count(*) FROM authlog.poll_events('acme', NULL, 100, ip_network => '192.0.2.8/29')}),
	'1', 'a filter by network');
my ($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
	SELECT * FROM authlog.poll_events('acme', 'not-a-position')});
like($err, qr/ERROR:  22023: invalid position "not-a-position"/, 'a broken position is refused');
($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
	SELECT * FROM authlog.poll_events('acme', NULL, 0)});
like($err, qr/ERROR:  22023: max_events must be between 1 and 10000/, 'and a page of nothing');
is($node->safe_psql('postgres', q{SET ROLE siem; SELECT count(*) FROM authlog.poll_events('globex')}),
	'0', 'a reader of acme polls nothing of globex');

$node->stop;
done_testing();
