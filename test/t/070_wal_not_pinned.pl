# While authlog is idle and another table takes 1 GB of writes, the mirror
# still advances its slot, so after a CHECKPOINT the slot retains under
# 64 MB of WAL within 30 seconds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('wal');
my $node = new_mirrored_node('wal', $store, "max_wal_size = '256MB'", "min_wal_size = '32MB'");
record_events($node, 'wal-tenant', 20);
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

$node->safe_psql('postgres', q{CREATE TABLE unrelated (id bigint, payload text)});
my $start_lsn = $node->safe_psql('postgres', q{SELECT pg_current_wal_lsn()});
for my $chunk (1 .. 9)
{
	$node->safe_psql('postgres', q{
		INSERT INTO unrelated SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 110000) g});
}
my $written = $node->safe_psql('postgres',
	qq{SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$start_lsn') / 1024 / 1024});
cmp_ok($written, '>=', 1000, "1 GB of WAL from another table (${written} MB)");

$node->safe_psql('postgres', 'CHECKPOINT');
my $deadline = time() + 30;
my $retained;
while (time() < $deadline)
{
	$retained = $node->safe_psql('postgres',
		q{SELECT retained_wal_bytes / 1024 / 1024 FROM authlog.mirror_status});
	last if $retained < 64;
	sleep(1);
	$node->safe_psql('postgres', 'CHECKPOINT');
}
cmp_ok($retained, '<', 64, "the slot retains ${retained} MB of WAL within 30 s");
verify_mirror($node, 'after the unrelated load');

$node->stop;
stop_store($store);
done_testing();
