# Poison pills: documents the store cannot take must never stall the mirror
# (a stalled mirror pins WAL until the disk fills).  Each kind is set aside
# in dead_letters with its reason and the encoded original (or, when too big
# for the store, its size and SHA-256), counted in mirror_status, reported
# by mirror_verify, and the events behind it arrive:
#   - a metadata key the store rejects (FerretDB: an empty key),
#   - a document over the store's 16 MB limit.
# A value no store can hold -- invalid UTF-8, which a SQL_ASCII database
# accepts -- is stored in a form the store accepts instead, exactly.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('poison');

sub poisoned_then_healthy
{
	my ($node, $kind, $poison_sql, $reason) = @_;
	$node->safe_psql('postgres', $poison_sql);
	$node->safe_psql('postgres',
		qq{SELECT authlog.record_login('t-poison', 'o1', 'after-$kind', true, '192.0.2.2', 'ua', 'web')});
	my ($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT authlog.mirror_sync('60s')});
	is($ret, 0, "$kind: the mirror did not stall") or diag($stderr);
	is($node->safe_psql('postgres',
		qq{SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"user_id": "after-$kind"}')}),
		'1', "$kind: the event behind it arrived");
	like($node->safe_psql('postgres',
		qq{SELECT d ->> 'reason' FROM authlog.mirror_find('dead_letters') d
		   WHERE d ->> 'tenant_id' = 't-poison' ORDER BY d ->> 'reason'}),
		$reason, "$kind: dead-lettered with its reason");
}

my $node = new_mirrored_node('poison', $store);
poisoned_then_healthy($node, 'empty-key',
	q{SELECT authlog.record_login('t-poison', 'o1', 'empty-key', false, '192.0.2.1', 'ua', 'web', '{"": "x"}')},
	qr/empty key/);
poisoned_then_healthy($node, 'oversized',
	q{SELECT authlog.record_login('t-poison', 'o1', 'oversized', false, '192.0.2.1', 'ua', 'web',
	                              jsonb_build_object('blob', repeat('x', 17 * 1024 * 1024)))},
	qr/16777216/);

is($node->safe_psql('postgres', q{SELECT documents_refused FROM authlog.mirror_status}),
	'2', 'mirror_status counts the refused documents');
my $verify = $node->safe_psql('postgres', q{
	SELECT string_agg(collection || ' ' || problem, E'\n' ORDER BY problem) FROM authlog.mirror_verify()});
my @problems = split /\n/, $verify;
is(scalar(@problems), 2, 'mirror_verify reports the two refused documents and nothing else')
  or diag($verify);
like($_, qr/^auth_logs refused by the store, kept in dead_letters/, 'as refused') for @problems;
# the seals' verifier against the store: a refused event is not a deleted one
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')});
my $refused = $node->safe_psql('postgres', q{
	SELECT string_agg(status || ': ' || detail, E'\n' ORDER BY detail)
	FROM authlog.verify_store_seals('t-poison') WHERE status <> 'ok'});
my @refused = split /\n/, $refused;
is(scalar(@refused), 2, 'verify_store_seals reports the two refused events and nothing else')
  or diag($refused);
like($_, qr/^refused: the store refused it \(kept in dead_letters\): /, 'as refused, with the store\'s reason')
  for @refused;
unlike($refused, qr/row_deleted/, 'not as deleted');

my $sha = $node->safe_psql('postgres', q{
	SELECT (d ? 'message_sha256') AND NOT (d ? 'message') AND (d -> 'size' ->> '$numberInt')::bigint > 16777216
	FROM authlog.mirror_find('dead_letters') d WHERE d ->> 'reason' LIKE '%16777216%'});
is($sha, 't', 'the oversized document is described by its size and SHA-256');
$node->stop;

# a SQL_ASCII database stores any bytes, and no store holds invalid UTF-8:
# such a value is stored as its exact bytes under "%bytes", such a key with
# its non-ASCII bytes percent-encoded, and nothing stops
my $ascii = new_mirrored_node('poison_ascii', $store, { encoding => 'SQL_ASCII' },
	"authlog.store_database = 'authlog_poison_ascii'");
$ascii->safe_psql('postgres',
	"SELECT authlog.record_login('t-poison', 'o1', 'bad-utf8', false, '192.0.2.1', 'agent \xff\xfe', 'web', '{\"k\xe9y\": \"v\xe9\"}')");
$ascii->safe_psql('postgres',
	q{SELECT authlog.record_login('t-poison', 'o1', 'after-bad-utf8', true, '192.0.2.2', 'ua', 'web')});
verify_mirror($ascii, 'invalid UTF-8 in a SQL_ASCII database');
is($ascii->safe_psql('postgres', q{
	SELECT (d -> 'user_agent' -> '%bytes' -> '$binary' ->> 'base64') = encode(decode('6167656e7420fffe', 'hex'), 'base64')
	   AND (d -> 'metadata' -> 'k%E9y' -> '%bytes' -> '$binary' ->> 'base64') = encode(decode('76e9', 'hex'), 'base64')
	FROM authlog.mirror_find('auth_logs', '{"user_id": "bad-utf8"}') d}),
	't', 'the exact bytes are in the store, the key percent-encoded');
is($ascii->safe_psql('postgres', q{SELECT documents_refused FROM authlog.mirror_status}),
	'0', 'nothing had to be refused');
$ascii->stop;
stop_store($store);
done_testing();
