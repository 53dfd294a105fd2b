# Seal health, without anyone asking: each cut checks the link it extends
# (the tenant's last seal still digests to its digest and names its
# predecessor's), and the sealer runs a full verification every
# authlog.seal_verify_interval.  Both reach authlog.sealer_status() (and so
# the metrics and the alerts): a clean history reads 0 broken links and 0
# findings; an altered seal, or a deleted one, is counted, logged and found.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('seal_health');
my $node = new_mirrored_node('seal_health', $store, "authlog.seal_interval = '1s'",
	"authlog.seal_verify_interval = '1s'");

sub cut
{
	my ($tenant, $events) = @_;
	record_events($node, $tenant, $events);
	$node->safe_psql('postgres', q{SELECT authlog.seal_now('60s')});
}

my $health = q{SELECT links_checked || ' ' || links_broken || ' ' || coalesce(verify_findings::text, '-')
               FROM authlog.sealer_status()};

# a clean history: three seals per tenant, every link checked, nothing found
cut($_, 5) for ('tenant-a', 'tenant-b', 'tenant-a', 'tenant-b', 'tenant-a', 'tenant-b');
ok($node->poll_query_until('postgres', q{
	SELECT verified_at > (SELECT max(sealed_at) FROM authlog.seals) AND verified_seals = 6
	FROM authlog.sealer_status()}), 'the scheduled verification ran over all six seals')
  or diag($node->safe_psql('postgres', 'SELECT * FROM authlog.sealer_status()'));
my ($checked, $broken, $findings) = split / /, $node->safe_psql('postgres', $health);
cmp_ok($checked, '>=', 4, 'each cut that extended a chain checked its link');
is("$broken $findings", '0 0', 'a clean history: no broken link, no finding');

# a superuser alters tenant-a's last seal, and deletes tenant-b's second
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	UPDATE authlog.seals SET event_count = event_count + 1 WHERE tenant_id = 'tenant-a' AND seal_no = 3;
	DELETE FROM authlog.seals WHERE tenant_id = 'tenant-b' AND seal_no = 2;});
my $log_offset = -s $node->logfile;
cut('tenant-a', 3);
is($node->safe_psql('postgres', q{SELECT links_broken FROM authlog.sealer_status()}), '1',
	'the next cut of tenant-a counts the altered seal as a broken link');
cut('tenant-b', 3);
is($node->safe_psql('postgres', q{SELECT links_broken FROM authlog.sealer_status()}), '2',
	'the next cut of tenant-b counts its last seal, whose predecessor is gone');
ok($node->log_contains(qr/seal 3 of tenant "tenant-a" no longer matches its digest/, $log_offset),
	'the server log names the altered seal');
ok($node->log_contains(qr/seal 3 of tenant "tenant-b" does not name its predecessor's digest/, $log_offset),
	'the server log names the seal whose predecessor is gone');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM authlog.seals WHERE tenant_id IN ('tenant-a', 'tenant-b') AND seal_no = 4}), '2',
	'sealing went on: each tenant has its fourth seal');

ok($node->poll_query_until('postgres', q{
	SELECT verify_findings >= 2 FROM authlog.sealer_status()}),
	'the scheduled verification finds what changed');
ok($node->log_contains(qr/the scheduled verification found \d+ problems in \d+ seals/, $log_offset),
	'and logs it');

# verification off: the last result stays, no new run
$node->safe_psql('postgres', q{ALTER SYSTEM SET authlog.seal_verify_interval = 0; SELECT pg_reload_conf()});
sleep 1;
my $at = $node->safe_psql('postgres', q{SELECT verified_at FROM authlog.sealer_status()});
cut('tenant-a', 2);
sleep 2;
is($node->safe_psql('postgres', q{SELECT verified_at FROM authlog.sealer_status()}), $at,
	'authlog.seal_verify_interval = 0: no further verification');

$node->stop;
stop_store($store);
done_testing();
