# Hostile input through record_login (and reset_lockout): every case is
# either refused with a clear error and its SQLSTATE, writing nothing, or
# stored exactly and mirrored exactly -- operators shaped like MongoDB's land
# in the store as data.  doc/security.md's table of cases is this file.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('hostile');
# one seal for every case: an event dated 4713 BC that a timed cut left for
# a later seal would be back-dated against the earlier one (a true finding,
# which verify_store_seals must not report here); so no timed cuts, and the
# first events wait for the sealer's start, which seals what no seal lists
my $node = new_mirrored_node('hostile', $store, "authlog.seal_interval = '1h'");
$node->poll_query_until('postgres',
	q{SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'authlog_seal')})
  or die 'the sealer never made its slot';

sub counts
{
	return $node->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM authlog.auth_logs) || '/' || (SELECT count(*) FROM authlog.account_lockouts)});
}

# record_login with its ten arguments, each an SQL expression
sub call
{
	my (%arg) = @_;
	my %a = (tenant => q{'t-hostile'}, org => q{'o1'}, user => q{'u1'}, success => 'false',
		ip => q{'192.0.2.1'}, ua => q{'ua'}, path => q{'web'}, metadata => q{'{}'},
		log_id => 'NULL', occurred_at => 'now()', %arg);
	return "SELECT decision FROM authlog.record_login($a{tenant}, $a{org}, $a{user}, $a{success}, "
	  . "$a{ip}, $a{ua}, $a{path}, $a{metadata}, $a{log_id}, $a{occurred_at})";
}

sub refused
{
	my ($name, $sql, $sqlstate, $preamble) = @_;
	my $before = counts();
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		($preamble // '') . "\\set VERBOSITY verbose\n$sql");
	isnt($ret, 0, "$name: refused");
	like($stderr, qr/ERROR:  $sqlstate: /, "$name: SQLSTATE $sqlstate");
	is(counts(), $before, "$name: nothing written");
}

sub stored
{
	my ($name, $sql, $check, $preamble) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', ($preamble // '') . $sql);
	is($ret, 0, "$name: accepted") or diag($stderr);
	is($node->safe_psql('postgres', $check), 't', "$name: stored exactly") if $check;
}

my $last = q{(SELECT l FROM authlog.auth_logs l WHERE tenant_id = 't-hostile' ORDER BY recorded_at DESC, event_type LIMIT 1)};

# NULL in every position
refused('NULL tenant_id', call(tenant => 'NULL'), '22004');
refused('NULL organisation_id', call(org => 'NULL'), '22004');
refused('NULL user_id', call(user => 'NULL'), '22004');
refused('NULL success', call(success => 'NULL'), '22004');
refused('NULL auth_path', call(path => 'NULL'), '22004');
refused('NULL metadata', call(metadata => 'NULL'), '22004');
stored('NULL occurred_at (not given: the transaction time)', call(user => q{'u-notime'}, occurred_at => 'NULL'),
	qq{SELECT occurred_at = recorded_at FROM authlog.auth_logs WHERE user_id = 'u-notime'});
stored('NULL ip_address and user_agent', call(user => q{'u-null'}, ip => 'NULL', ua => 'NULL'),
	qq{SELECT ip_address IS NULL AND user_agent IS NULL FROM authlog.auth_logs WHERE user_id = 'u-null'});
stored('NULL log_id (one is assigned)', call(user => q{'u-nolog'}),
	qq{SELECT log_id IS NOT NULL FROM authlog.auth_logs WHERE user_id = 'u-nolog'});
refused('reset_lockout with NULL actor',
	q{SELECT authlog.reset_lockout('t-hostile', 'o1', 'u1', NULL)}, '22004');

# empty strings
refused('empty tenant_id', call(tenant => q{''}), '22023');
refused('empty user_id', call(user => q{''}), '22023');
refused('empty auth_path', call(path => q{''}), '22P02');
stored('empty user_agent', call(user => q{'u-emptyua'}, ua => q{''}),
	q{SELECT user_agent = '' FROM authlog.auth_logs WHERE user_id = 'u-emptyua'});

# 10 MB strings: ids are refused, a user agent is truncated and flagged, metadata is kept
refused('10 MB user_id', call(user => q{repeat('u', 10 * 1024 * 1024)}), '22001');
refused('10 MB organisation_id', call(org => q{repeat('o', 10 * 1024 * 1024)}), '22001');
stored('10 MB user_agent', call(user => q{'u-bigua'}, ua => q{repeat('A', 10 * 1024 * 1024)}),
	q{SELECT length(user_agent) = 1024 AND (metadata -> 'authlog' ->> 'user_agent_length')::int = 10485760
	  FROM authlog.auth_logs WHERE user_id = 'u-bigua'});
stored('10 MB metadata value', call(user => q{'u-bigmeta'}, metadata => q{jsonb_build_object('blob', repeat('m', 10 * 1024 * 1024))}),
	q{SELECT length(metadata ->> 'blob') = 10485760 FROM authlog.auth_logs WHERE user_id = 'u-bigmeta'});

# encodings: invalid UTF-8 never gets in; LATIN1 clients are converted
refused('invalid UTF-8 from a UTF8 client', call(user => "'bad\xff\xfeid'"), '22021',
	"SET client_encoding = 'UTF8';\n");
stored('a LATIN1 client', call(user => "'caf\xe9'"),
	q{SELECT count(*) = 1 FROM authlog.auth_logs WHERE user_id = 'café'},
	"SET client_encoding = 'LATIN1';\n");

# control characters, SQL, JSON and BSON operators as ids, agents and keys
stored('control characters', call(user => q{E'ctl\x01\x1b[31m\r\n\t'}, ua => q{E'X-Injected: 1\r\nSet-Cookie: a=b'}),
	q{SELECT count(*) = 1 FROM authlog.auth_logs WHERE user_id = E'ctl\x01\x1b[31m\r\n\t' AND user_agent = E'X-Injected: 1\r\nSet-Cookie: a=b'});
stored('SQL as a user id', call(user => q{$$x'); DROP TABLE authlog.auth_logs; --$$}),
	q{SELECT count(*) = 1 FROM authlog.auth_logs WHERE user_id = $$x'); DROP TABLE authlog.auth_logs; --$$});
stored('a query operator as a user id', call(user => q{'{"$gt": ""}'}),
	q{SELECT count(*) = 1 FROM authlog.auth_logs WHERE user_id = '{"$gt": ""}'});
stored('$where as a user id', call(user => q{'$where'}),
	q{SELECT count(*) = 1 FROM authlog.auth_logs WHERE user_id = '$where'});
stored('operators, dots and percents as metadata keys',
	call(user => q{'u-keys'}, metadata => q{'{"$where": "sleep(1000)", "$gt": "", "a.b": {"$ne": null}, "%24where": 1}'}),
	q{SELECT metadata = '{"$where": "sleep(1000)", "$gt": "", "a.b": {"$ne": null}, "%24where": 1}'
	  FROM authlog.auth_logs WHERE user_id = 'u-keys'});

# a key named _id below the top: FerretDB moves such a key to the front of
# its document, so it is escaped (%5Fid) and the store keeps the bytes the
# seal digested; a key that looks escaped stays distinct
stored('_id as a nested metadata key',
	call(user => q{'u-nested-id'}, metadata => q{'{"a": 1, "_id": 2, "x": [{"b": 1, "_id": {"c": 1}}], "%5Fid": 3}'}),
	q{SELECT metadata = '{"a": 1, "_id": 2, "x": [{"b": 1, "_id": {"c": 1}}], "%5Fid": 3}'
	  FROM authlog.auth_logs WHERE user_id = 'u-nested-id'});

# a retried attempt: its row counts the retry in retry_count, which a seal's
# digest leaves out (not the metadata key of that name, nor the nested _id)
my $retried = call(user => q{'u-retried'}, log_id => q{'00000000-0000-4000-8000-0000000e7e1d'},
	occurred_at => q{'2026-12-01 08:00:00+00'},
	metadata => q{'{"retry_count": 7, "x": {"_id": 1}}'});
stored('an attempt', $retried);
stored('its retry', $retried,
	q{SELECT retry_count = 1 AND metadata = '{"retry_count": 7, "x": {"_id": 1}}' FROM authlog.auth_logs WHERE user_id = 'u-retried'});

# nesting: past authlog.max_metadata_depth is refused, at it is kept
my $deep = sub { my $n = shift; ('{"a": ' x $n) . '1' . ('}' x $n) };
refused('metadata nested past the limit', call(metadata => "'" . $deep->(33) . "'"), '22023');
stored('metadata nested to the limit', call(user => q{'u-deep'}, metadata => "'" . $deep->(32) . "'"),
	qq{SELECT metadata = '@{[ $deep->(32) ]}' FROM authlog.auth_logs WHERE user_id = 'u-deep'});

# addresses and times at their edges
stored('IPv6', call(user => q{'u-v6'}, ip => q{'2001:db8::1'}),
	q{SELECT ip_address = '2001:db8::1' FROM authlog.auth_logs WHERE user_id = 'u-v6'});
stored('IPv4-mapped IPv6', call(user => q{'u-mapped'}, ip => q{'::ffff:192.0.2.1'}),
	q{SELECT ip_address = '::ffff:192.0.2.1' AND family(ip_address) = 6 FROM authlog.auth_logs WHERE user_id = 'u-mapped'});
stored('a network, not a host', call(user => q{'u-net'}, ip => q{'10.0.0.0/8'}),
	q{SELECT ip_address = '10.0.0.0/8' AND masklen(ip_address) = 8 FROM authlog.auth_logs WHERE user_id = 'u-net'});
stored('the earliest timestamp', call(user => q{'u-early'}, occurred_at => q{'4713-01-01 00:00:00+00 BC'}),
	q{SELECT occurred_at = '4713-01-01 00:00:00+00 BC' FROM authlog.auth_logs WHERE user_id = 'u-early'});
stored('the latest timestamp', call(user => q{'u-late'}, occurred_at => q{'294276-12-31 23:59:59.999999+00'}),
	q{SELECT occurred_at = '294276-12-31 23:59:59.999999+00' FROM authlog.auth_logs WHERE user_id = 'u-late'});
refused('infinite occurred_at', call(occurred_at => q{'infinity'}), '22008');
refused('infinite occurred_at of a reset',
	q{SELECT authlog.reset_lockout('t-hostile', 'o1', 'u1', 'helpdesk', NULL, NULL, '-infinity')}, '22008');

# everything stored is in the store, byte for byte, and nothing was refused
verify_mirror($node, 'hostile input');
is($node->safe_psql('postgres', q{SELECT documents_refused FROM authlog.mirror_status}), '0',
	'the store accepted every escaped document');

# the store's copy is the one the seals digested: no false tamper findings
is($node->safe_psql('postgres',
	q{SELECT string_agg(status || ' ' || coalesce(detail, ''), E'\n') FROM authlog.verify_store_seals() WHERE status <> 'ok'}),
	'', 'verify_store_seals finds every event as it was sealed');
# and the rows: the sealer digested each decoded insert as its stream built it, verify_seals
# each row as it is now (the retried one's retry_count counted since)
is($node->safe_psql('postgres',
	q{SELECT string_agg(status || ' ' || coalesce(detail, ''), E'\n') FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'', 'verify_seals finds every row as it was sealed');
is($node->safe_psql('postgres',
	q{SELECT (d -> 'metadata' ? '%5Fid') AND (d -> 'metadata' ? '%255Fid')
	         AND (d -> 'metadata' -> 'x' -> 0 ? '%5Fid')
	  FROM authlog.mirror_find('auth_logs', '{"user_id": "u-nested-id"}') d}),
	't', 'a nested _id is stored escaped, a literal %5Fid escaped again');

# in the store, operators are data: an exact match finds them as strings
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM authlog.mirror_find('auth_logs', '{"user_id": "{\"$gt\": \"\"}"}')}),
	'1', 'the {"$gt": ""} user id is a string in the store');
is($node->safe_psql('postgres',
	q{SELECT d -> 'metadata' ->> '%24where' FROM authlog.mirror_find('auth_logs', '{"user_id": "u-keys"}') d}),
	'sleep(1000)', 'the $where key is stored escaped, its value a string');
is($node->safe_psql('postgres',
	q{SELECT (d -> 'metadata' ? '%2524where') AND (d -> 'metadata' ? 'a%2Eb') FROM authlog.mirror_find('auth_logs', '{"user_id": "u-keys"}') d}),
	't', 'a key that looks escaped stays distinct; dots are escaped');
is($node->safe_psql('postgres',
	q{SELECT d -> 'occurred_at_us' ->> '$numberLong' FROM authlog.mirror_find('auth_logs', '{"user_id": "u-early"}') d}),
	$node->safe_psql('postgres', q{SELECT (extract(epoch FROM timestamptz '4713-01-01 00:00:00+00 BC') * 1000000)::bigint}),
	'the earliest timestamp is exact to the microsecond in the store');

$node->stop;
stop_store($store);
done_testing();
