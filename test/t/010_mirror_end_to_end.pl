# End to end: a campaign recorded in PostgreSQL reaches the document store
# as documents equal to the rows, types included; a rolled-back transaction
# never appears; an update that leaves TOASTed metadata unchanged keeps it in
# the store; a document the store refuses is dead-lettered and the events
# behind it still arrive.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('e2e');
my $node = new_mirrored_node('e2e', $store);

$node->safe_psql('postgres', q{
	SELECT authlog.set_lockout_policy('acme', 3, '15 minutes', '15 minutes');
	SELECT authlog.record_login('acme', 'finance', 'cfo', false, '198.51.100.66', 'python', 'web',
	                            jsonb_build_object('attempt', n))
	FROM generate_series(1, 4) n;
	SELECT authlog.record_login('acme', 'hq', 'ann', false, '2001:db8::1', 'Mozilla', 'mobile',
		'{"x.forwarded-for": "192.0.2.1", "$where": "1", "n": [[1, 2], 9007199254740993, 1e400, 0.1]}',
		'00000000-0000-4000-8000-0000000e2e01', '2026-01-02 03:04:05.678901+00');
	SELECT authlog.record_login('acme', 'hq', 'ann', true, '2001:db8::1', 'Mozilla', 'mobile');
	SELECT authlog.reset_lockout('acme', 'finance', 'cfo', 'helpdesk:anna', 'ticket 1');
	-- a retry (the same call again): an update of retry_count
	SELECT authlog.record_login('acme', 'hq', 'ann', false, '2001:db8::1', 'Mozilla', 'mobile',
		'{"x.forwarded-for": "192.0.2.1", "$where": "1", "n": [[1, 2], 9007199254740993, 1e400, 0.1]}',
		'00000000-0000-4000-8000-0000000e2e01', '2026-01-02 03:04:05.678901+00');
	-- large, incompressible metadata, then its retry leaves it unchanged (TOASTed)
	SELECT authlog.record_login('acme', 'hq', 'big', false, '192.0.2.9', 'ua', 'api',
		(SELECT jsonb_object_agg('k' || i, md5(i::text) || md5((i * 7)::text)) FROM generate_series(1, 400) i),
		'00000000-0000-4000-8000-0000000e2e02');
	SELECT authlog.record_login('acme', 'hq', 'big', false, '192.0.2.9', 'ua', 'api',
		(SELECT jsonb_object_agg('k' || i, md5(i::text) || md5((i * 7)::text)) FROM generate_series(1, 400) i),
		'00000000-0000-4000-8000-0000000e2e02');
	SELECT authlog.record_login('other-tenant', 'o1', 'bob', true, '192.0.2.10', 'ua', 'sso');
});
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT authlog.record_login('acme', 'hq', 'rolled-back', false, '192.0.2.66', 'ua', 'web');
	ROLLBACK;
});

verify_mirror($node, 'after a campaign');

is($node->safe_psql('postgres',
	q{SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"user_id": "rolled-back"}')}),
	'0', 'a rolled-back attempt never reaches the store');

# the document of one event, field by field, types included
my $doc = $node->safe_psql('postgres', q{
	SELECT concat_ws(' | ', d -> 'log_id' -> '$binary' ->> 'subType',
	                 d -> 'occurred_at' -> '$date' ->> '$numberLong',
	                 d -> 'occurred_at_us' ->> '$numberLong',
	                 d ->> 'ip_address', d ->> 'auth_path', d ->> 'decision',
	                 d -> 'failed_login_attempts' ->> '$numberInt',
	                 d -> 'retry_count' ->> '$numberInt',
	                 d -> 'metadata' -> 'x%2Eforwarded-for' #>> '{}',
	                 d -> 'metadata' -> '%24where' #>> '{}',
	                 d -> 'metadata' -> 'n' -> 0 -> '%array' -> 1 ->> '$numberInt',
	                 d -> 'metadata' -> 'n' -> 1 ->> '$numberLong',
	                 d -> 'metadata' -> 'n' -> 2 ->> '%decimal' IS NOT NULL)
	FROM authlog.mirror_find('auth_logs', '{"log_id": {"$binary": {"base64": "AAAAAAAAQACAAAAAAA4uAQ==", "subType": "04"}}}') d});
is($doc, '04 | 1767323045678 | 1767323045678901 | 2001:db8::1 | mobile | failed | 1 | 1 | 192.0.2.1 | 1 | 2 | 9007199254740993 | t',
	'the document carries every column with its exact type and escaped metadata');

is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM jsonb_object_keys(d -> 'metadata')) || ' ' || (d -> 'retry_count' ->> '$numberInt')
	FROM authlog.mirror_find('auth_logs', '{"user_id": "big"}') d}),
	'400 1', 'an update that left TOASTed metadata out keeps it in the store');

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.mirror_find('account_lockouts', '{"user_id": "cfo"}') d
	WHERE d -> 'failed_login_attempts' ->> '$numberInt' = '0' AND d -> 'account_locked_until' = 'null'}),
	'1', 'the lockout state in the store is the state after the admin reset');

# a document FerretDB refuses (an empty metadata key) is dead-lettered, and the stream goes on
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('acme', 'hq', 'poison', false, '192.0.2.13', 'ua', 'web', '{"": "refused"}',
		'00000000-0000-4000-8000-0000000e2e03');
	SELECT authlog.record_login('acme', 'hq', 'after-poison', true, '192.0.2.14', 'ua', 'web');
});
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"user_id": "after-poison"}')}),
	'1', 'the event behind a refused document arrives');
is($node->safe_psql('postgres', q{SELECT documents_refused FROM authlog.mirror_status}),
	'1', 'the refusal is counted in mirror_status');
like($node->safe_psql('postgres', q{
	SELECT d ->> 'reason' || ' ' || (d ? 'message') FROM authlog.mirror_find('dead_letters') d}),
	qr/empty key true/, 'the dead letter holds the reason and the encoded original');
like($node->safe_psql('postgres', q{
	SELECT string_agg(problem, '; ') FROM authlog.mirror_verify('acme')}),
	qr/^refused by the store, kept in dead_letters: [^;]*empty key$/,
	'mirror_verify reports the refused document, and nothing else');

my $status = $node->safe_psql('postgres', q{
	SELECT state || ' ' || (documents_written > 0) || ' ' || (batches > 0) || ' ' || (lag_bytes >= 0)
	FROM authlog.mirror_status});
is($status, 'streaming true true true', 'mirror_status shows a streaming mirror');

$node->stop;
stop_store($store);
done_testing();
