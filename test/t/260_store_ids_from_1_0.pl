# A store 1.0's library wrote keys each document by a document _id
# ({tenant_id, log_id}, ...), which FerretDB does not index: every update by
# one was a scan.  1.1's library writes one scalar _id made of the same
# columns, and when it first starts against a 1.0 store it moves every
# document under its scalar _id, every other byte as it was: the store stays
# the witness it was, nothing is rebuilt from PostgreSQL.  Afterwards the
# seals made under 1.0 verify against the store (before and after ALTER
# EXTENSION UPDATE), its dead letters still explain what it refused, and new
# changes land on the moved documents.  A migration stopped halfway is
# finished by the next start.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $top = "$FindBin::RealBin/../..";
my $python = "$top/build/venv/bin/python";
plan skip_all => 'build/venv has no python (test/venv.sh makes it)' unless -x $python;

my $store = start_store('store_ids');
my $node = new_mirrored_node('store_ids', $store, { version => '1.0' }, "authlog.seal_interval = '1s'");

record_events($node, 't-ids', 40);
record_events($node, 't-ids,2', 10);	# a tenant whose name has a comma
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('t-ids', 'o1', 'retried', false, '192.0.2.9', 'ua', 'web',
	                            log_id => '00000000-0000-4000-8000-0000000260a1');
	-- the store refuses an empty key: a dead letter
	SELECT authlog.record_login('t-ids', 'o1', 'refused', false, '192.0.2.9', 'ua', 'web', '{"": "x"}');
});
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')});
my $seals = $node->safe_psql('postgres', q{SELECT count(*) FROM authlog.seals});
cmp_ok($seals, '>', 0, 'the events are sealed');

# The store as 1.0's library left it (or as a migration that stopped
# halfway), then the library starts against it.
sub store_as_1_0
{
	my ($what, @options) = @_;
	$node->stop;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, "$top/test/store_as_1_0.py", "mongodb://127.0.0.1:$store->{port}/",
			'authlog_store_ids', @options ], '>', \$out, '2>', \$err)
	  or BAIL_OUT("store_as_1_0.py failed: $err");
	chomp $out;
	cmp_ok($out, '>', 0, "$what: $out documents laid out under 1.0's _ids");
	my $offset = -s $node->logfile;
	$node->start;
	wait_for_mirror_state($node, 'streaming');
	ok($node->wait_for_log(qr/moved $out documents of the store from 1\.0's _ids to scalar _ids/, $offset),
		"$what: the mirror moved each of them, once");
}

sub store_is_migrated
{
	my ($what) = @_;
	$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
	is($node->safe_psql('postgres', q{
		SELECT string_agg(c || ' ' || n, ', ') FROM (
			SELECT c, (SELECT count(*) FROM authlog.mirror_find(c, '{"_id": {"$type": "object"}}')) AS n
			FROM unnest(ARRAY['auth_logs', 'account_lockouts', 'seals', 'dead_letters']) c) x
		WHERE n > 0}), '', "$what: no document is left under a document _id");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE jsonb_typeof(d -> '_id') = 'string'
		                          AND d ->> '_id' = octet_length(d ->> 'tenant_id') || ':' || (d ->> 'tenant_id') || ',36:'
		                                            || encode(decode(d -> 'log_id' -> '$binary' ->> 'base64', 'base64'), 'hex')::uuid)
		       = count(*)
		FROM authlog.mirror_find('auth_logs') d}), 't', "$what: each event under its scalar _id");
	like($node->safe_psql('postgres', q{
		SELECT string_agg(collection || ' ' || problem, E'\n' ORDER BY problem) FROM authlog.mirror_verify()}),
		qr/^auth_logs refused by the store, kept in dead_letters: [^\n]*empty key$/,
		"$what: mirror_verify finds the store equal to PostgreSQL, its dead letter still found");
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM authlog.auth_logs) - 1 = (SELECT count(*) FROM authlog.mirror_find('auth_logs'))
		   AND (SELECT count(*) FROM authlog.account_lockouts) = (SELECT count(*) FROM authlog.mirror_find('account_lockouts'))
		   AND (SELECT count(*) FROM authlog.seals) = (SELECT count(*) FROM authlog.mirror_find('seals'))}),
		't', "$what: as many documents as rows, none twice");
	is($node->safe_psql('postgres', q{
		SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM authlog.verify_store_seals()}),
		'ok,refused', "$what: every seal verifies against the store (the refused event said as such)");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}),
		'0', "$what: and against PostgreSQL");
}

store_as_1_0('a 1.0 store');
store_is_migrated('under 1.0, once the new library started');

# a change to a moved document lands on it: a retry's count
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('t-ids', 'o1', 'retried', false, '192.0.2.9', 'ua', 'web',
	                            log_id => '00000000-0000-4000-8000-0000000260a1')});
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
is($node->safe_psql('postgres', q{
	SELECT string_agg(d -> 'retry_count' ->> '$numberInt', ',') FROM authlog.mirror_find('auth_logs', '{"user_id": "retried"}') d}),
	'1', 'a retry of an event mirrored under 1.0 updates its moved document');

$node->safe_psql('postgres', q{ALTER EXTENSION authlog UPDATE TO '1.1'});
record_events($node, 't-ids', 10);
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
store_is_migrated('after ALTER EXTENSION UPDATE and new events');

store_as_1_0('a migration stopped halfway', '--crashed');
store_is_migrated('once the next start finished it');

$node->stop;
stop_store($store);
done_testing();
