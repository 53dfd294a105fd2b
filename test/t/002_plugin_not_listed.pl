# PostgreSQL 15.19 and later refuse a logical slot whose output plugin is not
# named in output_plugin_libraries, superusers included, and a session SET
# does not help.  This shows the error a DBA gets, and that listing authlog in
# postgresql.conf (then reloading) is the fix.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('unlisted');
$node->init(allows_streaming => 'logical');
$node->start;

my ($has_setting) = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_settings WHERE name = 'output_plugin_libraries'});
if ($has_setting eq '0')
{
	$node->stop;
	plan skip_all => 'this server predates output_plugin_libraries (15.19)';
}

$node->safe_psql('postgres', 'CREATE EXTENSION authlog');

my ($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT pg_create_logical_replication_slot('mirror', 'authlog')});
isnt($ret, 0, 'a slot with the authlog plugin is refused while it is not listed');
like($stderr, qr/library "authlog" may not be used as an output plugin/,
	'the error names the library');
like($stderr, qr/output_plugin_libraries/, 'and the hint names the setting to change');

($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SET output_plugin_libraries = 'pgoutput, test_decoding, authlog';
	  SELECT pg_create_logical_replication_slot('mirror', 'authlog')});
isnt($ret, 0, 'a session SET does not help');

$node->append_conf('postgresql.conf',
	"output_plugin_libraries = 'pgoutput, test_decoding, authlog'");
$node->reload;
$node->safe_psql('postgres',
	q{SELECT pg_create_logical_replication_slot('mirror', 'authlog')});
$node->safe_psql('postgres',
	q{SELECT authlog.record_login('t1', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web')});
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_logical_slot_get_binary_changes('mirror', NULL, NULL)}),
	'2', 'listed in postgresql.conf, the plugin decodes the attempt (event and account row)');

$node->stop;
done_testing();
