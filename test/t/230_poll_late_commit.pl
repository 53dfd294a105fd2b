# A reader following authlog.poll_events receives every event of its scope
# exactly once, in commit order, one committed late included: a transaction
# that began before others and commits after them holds the stream back
# until it ends, and a rolled-back one leaves nothing.  A page is proved
# against the seals with authlog.seal_proofs, by a tenant-wide reader only.
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
my ($late_at, $after_at) = split /\|/, $node->safe_psql('postgres', q{
	SELECT (SELECT occurred_at FROM authlog.auth_logs WHERE user_id = 'late') || '|' ||
	       (SELECT occurred_at FROM authlog.auth_logs WHERE user_id = 'after-1')});
is($node->safe_psql('postgres', qq{SET ROLE siem;
	SELECT string_agg(user_id, ',') FROM authlog.poll_events('acme', NULL, 100,
		since => '$late_at', until => '$after_at')}),
	'late', 'a period [since, until): the event at since, not the one at until');
my ($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
	SELECT * FROM authlog.poll_events('acme', 'not-a-position')});
like($err, qr/ERROR:  22023: invalid position "not-a-position"/, 'a broken position is refused');
($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
	SELECT * FROM authlog.poll_events('acme', NULL, 0)});
like($err, qr/ERROR:  22023: max_events must be between 1 and 10000/, 'and a page of nothing');
is($node->safe_psql('postgres', q{SET ROLE siem; SELECT count(*) FROM authlog.poll_events('globex')}),
	'0', 'a reader of acme polls nothing of globex');

# the page's proofs: each event's seal, its place, the digest recorded
$node->safe_psql('postgres', q{
	CREATE ROLE finance_reader LOGIN;
	SELECT authlog.grant_reader('finance_reader', 'acme', 'o1');
	SELECT authlog.seal_now('60s');
	SELECT authlog.record_login('acme', 'o1', 'unsealed-yet', false, '192.0.2.1', 'ua', 'web');});
my $page = q{(SELECT array_agg(log_id ORDER BY position) FROM authlog.poll_events('acme', NULL, 100))
             || '00000000-0000-4000-8000-00000000dead'::uuid};
is($node->safe_psql('postgres', qq{SET ROLE siem;
	SELECT string_agg(status, ',' ORDER BY status) FROM (SELECT DISTINCT status FROM authlog.seal_proofs('acme', $page)) s}),
	'sealed,unknown,unsealed', 'a page: the events before the last cut sealed, the one after it unsealed, an id of no event unknown');
is($node->safe_psql('postgres', qq{SET ROLE siem;
	SELECT count(*) FROM authlog.seal_proofs('acme', $page) p
	JOIN authlog.verify_seals('acme') v ON v.seal_no = p.seal_no AND v.status = 'ok'
	WHERE p.status = 'sealed'}),
	'8', 'each sealed event names an intact seal');
is($node->safe_psql('postgres', q{
	SELECT bool_and(p.event_digest = authlog.event_digest(l) AND p.seal_digest = s.digest
	                AND s.members[p.member_index + 1] = l.log_id)
	FROM authlog.seal_proofs('acme', (SELECT array_agg(log_id) FROM authlog.auth_logs WHERE tenant_id = 'acme')) p
	JOIN authlog.auth_logs l ON l.tenant_id = 'acme' AND l.log_id = p.log_id
	JOIN authlog.seals s ON s.tenant_id = 'acme' AND s.seal_no = p.seal_no}),
	't', 'the recorded digest is the event\'s, at the place the seal lists it');
is($node->safe_psql('postgres', q{SELECT status FROM authlog.seal_proofs('acme',
	ARRAY(SELECT log_id FROM authlog.auth_logs WHERE user_id = 'unsealed-yet'))}),
	'unsealed', 'an event after the last cut is unsealed');
($ret, $out, $err) = $node->psql('postgres', q{SET ROLE finance_reader;
	SELECT * FROM authlog.seal_proofs('acme', ARRAY(SELECT gen_random_uuid()))});
like($err, qr/seal proofs need a reader of the whole tenant "acme"/, 'an organisation\'s reader is told why not');

$node->stop;
done_testing();
