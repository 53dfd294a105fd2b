# Seals, end to end.  The sealer covers every committed event exactly once,
# per tenant and in commit order, within authlog.seal_interval: events from
# before it had a slot, events of concurrent writers across tenants, retries,
# and events written while the document store is down.  Each cut's anchor
# (the root of its seals' digests) reaches the server log and NOTIFY authlog_seal.  Tampering in either store
# is named by that store's verifier, while the other store keeps the
# original: the store takes no rewrite or deletion of an event or a seal.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('seals');
my $node = new_mirrored_node('seals', $store, "authlog.seal_interval = '2s'",
	'authlog.seal_max_events = 1000');

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN authlog_seal');
my @announced;

sub collect_notifications
{
	my $output = $listener->query_safe("SELECT 'poll'");
	push @announced, $1
	  while $output =~ /Asynchronous notification "authlog_seal" with payload "([^"]*)" received/g;
}

# What every check below ends with: each event in exactly one seal, seal
# numbers 1, 2, 3 ... per tenant, and verify_seals() clean.
sub all_sealed_once
{
	my ($what) = @_;
	my $events = $node->safe_psql('postgres', 'SELECT count(*) FROM authlog.auth_logs');
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM authlog.seals s, unnest(s.members) m) || ' '
		    || (SELECT count(DISTINCT (s.tenant_id, m)) FROM authlog.seals s, unnest(s.members) m) || ' '
		    || (SELECT count(*) FROM authlog.auth_logs l
		        WHERE NOT EXISTS (SELECT 1 FROM authlog.seals s
		                          WHERE s.tenant_id = l.tenant_id AND l.log_id = ANY (s.members)))}),
		"$events $events 0", "$what: every event is in exactly one seal");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM (SELECT tenant_id FROM authlog.seals GROUP BY tenant_id
		                      HAVING max(seal_no) <> count(*) OR min(seal_no) <> 1) gaps}),
		'0', "$what: seals are numbered 1, 2, 3 ... per tenant");
	is($node->safe_psql('postgres', q{
		SELECT string_agg(tenant_id || ' ' || coalesce(seal_no::text, '-') || ' ' || status || ' ' || coalesce(detail, ''), E'\n')
		FROM authlog.verify_seals() WHERE status <> 'ok'}),
		'', "$what: verify_seals finds nothing wrong");
}

# Events from before the sealer's slot existed, and after: all sealed within
# the interval, without anyone asking.
record_events($node, 'tenant-a', 30);
record_events($node, 'tenant-b', 20);
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = (SELECT count(*) FROM authlog.auth_logs) FROM authlog.seal_members}),
	'the sealer seals on its own');
record_events($node, 'tenant-a', 10);
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = (SELECT count(*) FROM authlog.auth_logs) FROM authlog.seal_members}),
	'and again at its next cut');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.auth_logs l JOIN authlog.seal_members m USING (tenant_id, log_id)
	JOIN authlog.seals s USING (tenant_id, seal_no)
	WHERE s.sealed_at - l.recorded_at > interval '2s' + interval '20s'}),
	'0', 'each within the interval (2 s, and a generous margin for a slow machine)');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.seals WHERE first_commit_lsn <> '0/0'}) > 0 ? 'yes' : 'no',
	'yes', 'cuts come from the slot, in commit order (with commit LSNs)');
all_sealed_once('after the first cuts');

# A retry changes retry_count only: no new seal, and the seal still verifies.
# (the same call again: record_events' arguments, from its n)
my $retried = $node->safe_psql('postgres', q{
	SELECT log_id || ' ' || user_id || ' ' || organisation_id || ' ' || (metadata ->> 'n')
	FROM authlog.auth_logs WHERE tenant_id = 'tenant-a' AND event_type IN ('login_failed', 'login_success')
	ORDER BY recorded_at LIMIT 1});
my ($retry_id, $retry_user, $retry_org, $retry_n) = split / /, $retried;
my $retry_success = $retry_n % 5 == 0 ? 'true' : 'false';
my $retry_ip = '203.0.113.' . ($retry_n % 50);
my $seals_before = $node->safe_psql('postgres', 'SELECT count(*) FROM authlog.seals');
$node->safe_psql('postgres', qq{
	SELECT authlog.record_login('tenant-a', '$retry_org', '$retry_user', $retry_success, '$retry_ip', 'agent', 'web',
	                            jsonb_build_object('n', $retry_n), '$retry_id')});
is($node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')}), '0', 'a retry is not a new event to seal');
is($node->safe_psql('postgres', "SELECT retry_count FROM authlog.auth_logs WHERE log_id = '$retry_id'"),
	'1', 'the retry was counted');
all_sealed_once('after a retry');

# The anchors outside the tables: one NOTIFY and one LOG line per cut,
# carrying the root of its seals' digests and their count, and no tenant;
# every seal's audit path leads from its digest to that root.
collect_notifications();
my $roots = $node->safe_psql('postgres', q{
	SELECT string_agg(a, E'\n' ORDER BY a)
	FROM (SELECT DISTINCT encode(anchor_root, 'hex') || ' ' || anchor_size AS a FROM authlog.seals) r});
is(join("\n", sort @announced), $roots, 'NOTIFY authlog_seal announced each cut: its root and size');
like($announced[0], qr/^[0-9a-f]{64} \d+$/, 'the payload names no tenant');
my $log = slurp_file($node->logfile);
my @logged;
push @logged, "$1 $2" while $log =~ /LOG:  authlog anchor ([0-9a-f]{64}) (\d+)/g;
is(join("\n", sort @logged), $roots, 'the server log has each cut\'s root too');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.seals
	WHERE anchor_root IS NULL OR authlog.anchor_root(digest, anchor_index, anchor_size, anchor_path) <> anchor_root}),
	'0', 'each seal proves its digest against its cut\'s root');

# Concurrent writers across eight tenants, retries among them, while the
# sealer cuts every 2 s: every event in exactly one seal.  Throttled: FerretDB
# applies an update by compound _id with a collection scan (NOTES.md).
$node->pgbench('--no-vacuum --client=4 --jobs=2 --time=6 --rate=50', 0,
	[qr{processed: \d+}], [qr{}], 'concurrent writers while sealing',
	{ 'seal_writers' => q{
\set r random(1, 3000)
SELECT authlog.record_login('tenant-' || (:r % 8), 'o' || (:r % 40 % 3), 'user' || (:r % 40), :r % 6 = 0,
       '198.51.100.7', 'agent', 'web', '{}', md5('seal-' || :r)::uuid);
} });
$node->safe_psql('postgres', q{SELECT authlog.seal_now('120s')});
cmp_ok($node->safe_psql('postgres', q{SELECT count(DISTINCT tenant_id) FROM authlog.seals}), '>=', 8,
	'the writers\' tenants have seals of their own');
cmp_ok($node->safe_psql('postgres', q{SELECT sum(retry_count) FROM authlog.auth_logs}), '>', 1,
	'the writers retried some logins');
all_sealed_once('after concurrent writers');

# The sealer enters a seal's members in seal_members through the table AM
# (seal_members.c): every row has its index entries (amcheck's
# heapallindexed), and a table a statement would treat otherwise, here with
# a DBA's insert trigger, gets the statement: the trigger sees every member.
$node->safe_psql('postgres', 'CREATE EXTENSION amcheck');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM authlog.seal_members) = (SELECT count(*) FROM authlog.seals s, unnest(s.members) m)}),
	't', 'seal_members lists every member of every seal');
is($node->safe_psql('postgres', q{SELECT bt_index_check('authlog.seal_members_pkey', true)}), '',
	'seal_members: every row has its index entry');
$node->safe_psql('postgres', q{
	CREATE TABLE public.members_seen (tenant_id text, log_id uuid);
	CREATE FUNCTION public.note_member() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.members_seen VALUES (NEW.tenant_id, NEW.log_id);
		RETURN NEW;
	END $$;
	CREATE TRIGGER note_member AFTER INSERT ON authlog.seal_members
		FOR EACH ROW EXECUTE FUNCTION public.note_member();
	SELECT count(*) FROM generate_series(1, 5) n,
		authlog.record_login('tenant-trigger', 'o1', 'user' || n, false, '192.0.2.1', 'agent', 'web');
	SELECT authlog.seal_now('60s')});
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM public.members_seen) || ' '
	    || (SELECT count(*) FROM authlog.seal_members m JOIN public.members_seen s USING (tenant_id, log_id))}),
	'5 5', 'with an insert trigger on seal_members the sealer runs the statement, and the trigger fires');
$node->safe_psql('postgres', q{DROP TRIGGER note_member ON authlog.seal_members});

# The sealer's slot dropped, then one transaction of 2,500 events of one
# tenant (written straight into the table: a bulk load, not logins): the
# slot is created again and the events it never saw are sealed from a table
# scan, batch by batch, as three chained seals (seal_max_events is 1,000).
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
# (the sealer holds its slot while it seals; paused, it lets it go)
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.seal_interval = 0; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT state = 'paused' FROM authlog.sealer_status()})
  or die 'the sealer did not pause';
my ($drop_rc, $drop_out, $drop_err) = $node->psql('postgres', q{SELECT pg_drop_replication_slot('authlog_seal')});
is($drop_err, '', 'a paused sealer lets its slot go');
$node->safe_psql('postgres', q{
	INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
	                               user_agent, auth_path, occurred_at, recorded_at, metadata, decision,
	                               failed_login_attempts, retry_count)
	SELECT 'tenant-bulk', gen_random_uuid(), 'o1', 'user' || n, 'login_success', '192.0.2.1', 'agent', 'web',
	       now(), now(), '{}', 'allowed', 0, 0
	FROM generate_series(1, 2500) n});
$node->safe_psql('postgres', q{ALTER SYSTEM RESET authlog.seal_interval; SELECT pg_reload_conf()});
$node->safe_psql('postgres', q{SELECT authlog.seal_now('120s')});
is($node->safe_psql('postgres', q{
	SELECT string_agg(seal_no || ':' || event_count || ':' || first_commit_lsn, ' ' ORDER BY seal_no)
	FROM authlog.seals WHERE tenant_id = 'tenant-bulk'}),
	'1:1000:0/0 2:1000:0/0 3:500:0/0', 'events committed while the slot was missing are sealed from a scan, 1,000 a seal');
like(slurp_file($node->logfile), qr/authlog sealer: the slot is missing; sealing the events no seal lists from a table scan/,
	'the sealer says so in the log');
all_sealed_once('after the slot was lost');

# The store down: sealing goes on; back up, the store has every seal and both copies verify.
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
stop_store($store);
record_events($node, 'tenant-c', 40);
record_events($node, 'tenant-a', 10);
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.seals WHERE tenant_id = 'tenant-c'}),
	'>=', 1, 'seals are cut while the store is down');
is($node->safe_psql('postgres', q{SELECT state FROM authlog.sealer_status()}), 'sealing',
	'the sealer does not wait for the store');
all_sealed_once('while the store is down');
restart_store($store);
verify_mirror($node, 'store back after sealing');
is($node->safe_psql('postgres', q{
	SELECT string_agg(tenant_id || ' ' || coalesce(seal_no::text, '-') || ' ' || status || ' ' || coalesce(detail, ''), E'\n')
	FROM authlog.verify_store_seals() WHERE status <> 'ok'}),
	'', 'verify_store_seals: the store\'s copy verifies too');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_store_seals() WHERE status = 'ok'}),
	$node->safe_psql('postgres', q{SELECT count(*) FROM authlog.seals}), 'one ok per seal');

# Tampering in PostgreSQL, as a superuser who bypasses the triggers: the
# verifier names it, the store keeps the original (its verifier is clean),
# and mirror_verify shows where the two differ.
# (the sealer paused meanwhile, so the forged row is seen before and after its seal)
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.seal_interval = 0; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT state = 'paused' FROM authlog.sealer_status()})
  or die 'the sealer did not pause';
my ($changed, $deleted) = split /\n/, $node->safe_psql('postgres', q{
	SELECT log_id FROM authlog.auth_logs WHERE tenant_id = 'tenant-c' ORDER BY recorded_at, log_id LIMIT 2});
$node->safe_psql('postgres', qq{
	SET session_replication_role = replica;
	UPDATE authlog.auth_logs SET ip_address = '192.0.2.250' WHERE log_id = '$changed';
	DELETE FROM authlog.auth_logs WHERE log_id = '$deleted';
	INSERT INTO authlog.auth_logs
	SELECT tenant_id, '00000000-0000-4000-8000-00000000f04e', organisation_id, 'forged', event_type, ip_address,
	       user_agent, auth_path, occurred_at - interval '1 hour', recorded_at - interval '1 hour', metadata,
	       reason, actor, decision, failed_login_attempts, account_locked_until, 0
	FROM authlog.auth_logs WHERE log_id = '$changed';
	UPDATE authlog.seals SET event_count = event_count + 1 WHERE tenant_id = 'tenant-b' AND seal_no = 1;
	DELETE FROM authlog.seals WHERE tenant_id = 'tenant-a' AND seal_no = 2;
	-- a forged seal listing events another seal lists
	INSERT INTO authlog.seals
	SELECT tenant_id, 1000, gen_random_uuid(), sealed_at, first_commit_lsn, last_commit_lsn,
	       first_committed_at, last_committed_at, event_count, members, member_digests, digest, digest
	FROM authlog.seals WHERE tenant_id = 'tenant-b' AND seal_no = 1;
});
my $twice = $node->safe_psql('postgres', q{SELECT members[1] FROM authlog.seals WHERE tenant_id = 'tenant-b' AND seal_no = 1});
my $findings = q{SELECT string_agg(tenant_id || ' ' || coalesce(seal_no::text, '-') || ' ' || status || ' ' || coalesce(log_id::text, '-'), E'\n' ORDER BY tenant_id, seal_no, status, log_id) FROM };
my $pg = $node->safe_psql('postgres', $findings . q{authlog.verify_seals() WHERE status NOT IN ('ok', 'row_added')});
like($pg, qr/^tenant-c \d+ row_changed \Q$changed\E$/m, 'verify_seals: the changed IP');
like($pg, qr/^tenant-c \d+ row_deleted \Q$deleted\E$/m, 'verify_seals: the deleted row');
like($pg, qr/^tenant-b 1 seal_altered -$/m, 'verify_seals: the edited seal');
like($pg, qr/^tenant-a 3 seal_missing -$/m, 'verify_seals: the deleted seal, at the gap it leaves');
like($pg, qr/^tenant-b 1000 sealed_twice \Q$twice\E$/m, 'verify_seals: the forged seal lists sealed events again');
like($node->safe_psql('postgres', $findings . q{authlog.verify_seals('tenant-c') WHERE status = 'row_added'}),
	qr/^tenant-c - row_added 00000000-0000-4000-8000-00000000f04e$/m, 'verify_seals: the forged row, before it is sealed');
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
$node->safe_psql('postgres', q{ALTER SYSTEM RESET authlog.seal_interval; SELECT pg_reload_conf()});
like($node->safe_psql('postgres', $findings . q{authlog.verify_seals('tenant-c')}),
	qr/^tenant-c \d+ back_dated 00000000-0000-4000-8000-00000000f04e$/m,
	'verify_seals: the forged row, once sealed, is back-dated');

$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
my $store_findings = $node->safe_psql('postgres', $findings . q{authlog.verify_store_seals() WHERE status <> 'ok'});
like($store_findings, qr/^tenant-b 1 seal_differs -$/m, 'verify_store_seals: the edited seal differs from the store\'s');
like($store_findings, qr/^tenant-a 2 seal_missing -$/m, 'verify_store_seals: the deleted seal is still in the store');
like($store_findings, qr/^tenant-b 1000 sealed_twice \Q$twice\E$/m, 'verify_store_seals: the forged seal reached the store, and lists sealed events again');
like($store_findings, qr/^tenant-c \d+ back_dated 00000000-0000-4000-8000-00000000f04e$/m,
	'verify_store_seals: the forged row reached the store as a new, back-dated event');
unlike(join("\n", grep { !/^tenant-b 1000 / } split /\n/, $store_findings), qr/row_changed|row_deleted|seal_altered/,
	'the store kept the changed and the deleted event, and the edited seal, as committed');
my $differences = $node->safe_psql('postgres', q{
	SELECT string_agg(collection || ' ' || problem, E'\n' ORDER BY collection, problem) FROM authlog.mirror_verify()});
like($differences, qr/^auth_logs differs from PostgreSQL$/m, 'mirror_verify: the changed event differs');
like($differences, qr/^auth_logs in the store but not in PostgreSQL$/m, 'mirror_verify: the deleted event is only in the store');

# Tampering in the store (its files edited while it is stopped): the store's
# verifier names the changed document and the deleted seal; PostgreSQL's
# copy is untouched.
my $store_file = "$store->{dir}/data/authlog_seals.sqlite";
sub store_sql
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	ok(IPC::Run::run([ 'sqlite3', $store_file, $sql ], '>', \$out, '2>', \$err), "sqlite3: $sql")
	  or diag($err);
	chomp $out;
	return $out;
}
stop_store($store);
my $events_table = store_sql(q{SELECT table_name FROM _ferretdb_collections WHERE name = 'auth_logs'});
my $seals_table = store_sql(q{SELECT table_name FROM _ferretdb_collections WHERE name = 'seals'});
store_sql(qq{UPDATE "$events_table" SET _ferretdb_sjson = json_set(_ferretdb_sjson, '\$.user_agent', 'rewritten')
	WHERE rowid = (SELECT min(rowid) FROM "$events_table" WHERE _ferretdb_sjson->>'\$.tenant_id' = 'tenant-b')});
store_sql(qq{DELETE FROM "$seals_table" WHERE _ferretdb_sjson->>'\$.tenant_id' = 'tenant-c' AND _ferretdb_sjson->>'\$.seal_no' = 1});
restart_store($store);
my $rewritten = $node->safe_psql('postgres', q{
	SELECT (d->'log_id'->'$binary'->>'base64') FROM authlog.mirror_find('auth_logs', '{"user_agent": "rewritten"}') d});
my $rewritten_id = $node->safe_psql('postgres', qq{SELECT encode(decode('$rewritten', 'base64'), 'hex')::uuid});
$store_findings = $node->safe_psql('postgres', $findings . q{authlog.verify_store_seals() WHERE status <> 'ok'});
like($store_findings, qr/^tenant-b \d+ row_changed \Q$rewritten_id\E$/m, 'verify_store_seals: the rewritten document');
like($store_findings, qr/^tenant-c 1 seal_missing -$/m, 'verify_store_seals: the seal deleted from the store');
unlike($node->safe_psql('postgres', $findings . q{authlog.verify_seals('tenant-b') WHERE status <> 'ok'}),
	qr/row_changed \Q$rewritten_id\E/, 'PostgreSQL\'s copy of that event still verifies');

$listener->quit;
$node->stop;
stop_store($store);
done_testing();
