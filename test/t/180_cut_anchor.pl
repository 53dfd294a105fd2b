# One anchor per cut, not per seal: a cut of many tenants (one event each)
# writes one LOG line and one NOTIFY authlog_seal, carrying the root of an
# RFC 6962 Merkle tree over the cut's seal digests; each seal keeps its
# audit path, and both verifiers prove every seal against its cut's root.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('cut_anchor');
my $node = new_mirrored_node('cut_anchor', $store, "authlog.seal_interval = '1h'");
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN authlog_seal');
my $log_offset = -s $node->logfile;

# 25 tenants, one login each, sealed by one cut
$node->safe_psql('postgres', q{
	SELECT authlog.record_login('t-cut-' || n, 'o1', 'u1', n % 2 = 0, '192.0.2.1', 'ua', 'web')
	FROM generate_series(1, 25) n});
$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.seals WHERE tenant_id LIKE 't-cut-%'}),
	'25', 'one seal per tenant');

my $log = substr(slurp_file($node->logfile), $log_offset);
my @lines = $log =~ /LOG:  authlog anchor ([0-9a-f]{64}) (\d+)/g;
is(scalar(@lines), 2, 'one LOG line for the cut') or diag($log);
my ($root, $size) = @lines;
is($size, '25', 'naming the 25 seals it anchors');
is(scalar(() = $log =~ /LOG:  authlog seal /g), 0, 'and no line per seal');
my $output = $listener->query_safe("SELECT 'poll'");
my @payloads = $output =~ /Asynchronous notification "authlog_seal" with payload "([^"]*)" received/g;
is_deeply(\@payloads, ["$root 25"], 'one NOTIFY for the cut: its root and size, no tenant');

is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT anchor_root) || ' ' || min(anchor_size) || ' ' || count(DISTINCT anchor_index)
	       || ' ' || min(encode(anchor_root, 'hex'))
	FROM authlog.seals WHERE tenant_id LIKE 't-cut-%'}),
	"1 25 25 $root", 'each seal keeps the root, the size and its own leaf index');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.seals
	WHERE authlog.anchor_root(digest, anchor_index, anchor_size, anchor_path) <> anchor_root}),
	'0', 'every seal\'s audit path leads from its digest to the root');
verify_mirror($node, 'after one cut of many tenants');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'0', 'verify_seals proves every seal against its root');
is($node->safe_psql('postgres', q{SELECT count(*) FROM authlog.verify_store_seals() WHERE status <> 'ok'}),
	'0', 'and so does verify_store_seals');

# a seal whose audit path no longer leads to the root is named by both verifiers
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	UPDATE authlog.seals SET anchor_path = overlay(anchor_path placing '\xff'::bytea from 1)
	WHERE tenant_id = 't-cut-7'});
like($node->safe_psql('postgres', q{
	SELECT status || ': ' || detail FROM authlog.verify_seals('t-cut-7') WHERE status <> 'ok'}),
	qr/^seal_altered: its audit path does not lead to its cut's anchor/, 'verify_seals names the broken proof');

$listener->quit;
$node->stop;
stop_store($store);
done_testing();
