# Shared by the mirror's TAP tests: a FerretDB store per test, a cluster
# that preloads authlog and mirrors to it, and the checks every fault test
# ends with.
package AuthlogMirror;

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Exporter qw(import);

our @EXPORT = qw(start_store stop_store restart_store start_store_proxy drop_store_inserts
  store_inserts_dropped new_mirrored_node wait_for_mirror_state record_events verify_mirror);

my $top = abs_path(dirname(__FILE__) . '/../..');
my @stores;
my @proxies;

# a test that dies half way still stops its stores
END
{
	stop_store($_) for @stores;
	kill 'TERM', $_ for @proxies;
}

sub start_store
{
	my ($name, $port) = @_;
	my $store = {
		dir => "${PostgreSQL::Test::Utils::tmp_check}/ferretdb_$name",
		port => $port // PostgreSQL::Test::Cluster::get_free_port(),
	};
	system('bash', "$top/test/ferretdb.sh", 'start', $store->{dir}, $store->{port}) == 0
	  or BAIL_OUT("FerretDB did not start");
	push @stores, $store;
	return $store;
}

sub stop_store
{
	my ($store) = @_;
	system('bash', "$top/test/ferretdb.sh", 'stop', $store->{dir});
}

sub restart_store
{
	my ($store) = @_;
	stop_store($store);
	system('bash', "$top/test/ferretdb.sh", 'start', $store->{dir}, $store->{port}) == 0
	  or BAIL_OUT("FerretDB did not restart");
}

# A proxy in front of $store (test/store_proxy.py) that can lose inserts on
# the wire; used as a store by new_mirrored_node.
sub start_store_proxy
{
	my ($store, $name) = @_;
	my $proxy = {
		dir => "${PostgreSQL::Test::Utils::tmp_check}/store_proxy_$name",
		port => PostgreSQL::Test::Cluster::get_free_port(),
	};
	mkdir $proxy->{dir};
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		exec('python3', "$top/test/store_proxy.py", $proxy->{port}, $store->{port}, $proxy->{dir})
		  or die "exec: $!";
	}
	push @proxies, $pid;
	for (1 .. 100)
	{
		last if -e "$proxy->{dir}/ready";
		select(undef, undef, undef, 0.1);
	}
	-e "$proxy->{dir}/ready" or BAIL_OUT('the store proxy did not start');
	return $proxy;
}

# The proxy closes the connection of each of the next $count insert
# commands into $collection instead of forwarding it.
sub drop_store_inserts
{
	my ($proxy, $collection, $count) = @_;
	open(my $fh, '>', "$proxy->{dir}/drop_collection") or die $!;
	print $fh $collection;
	close($fh);
	open($fh, '>', "$proxy->{dir}/drop_inserts") or die $!;
	print $fh $count;
	close($fh);
}

# How many insert commands into $collection the proxy dropped so far.
sub store_inserts_dropped
{
	my ($proxy, $collection) = @_;
	return 0 unless -e "$proxy->{dir}/dropped";
	my @dropped = split /\n/, slurp_file("$proxy->{dir}/dropped");
	return scalar(grep { $_ eq "insert $collection" } @dropped);
}

# A cluster with authlog preloaded, mirroring to $store; extra
# postgresql.conf lines may follow, after an optional { encoding => ...,
# version => ... } (version: the extension version to create).
sub new_mirrored_node
{
	my ($name, $store, @conf) = @_;
	my %options = (encoding => 'UTF8');
	%options = (%options, %{ shift @conf }) if @conf && ref $conf[0] eq 'HASH';
	my $node = PostgreSQL::Test::Cluster->new($name);
	# UTF-8, as production databases are, whatever the test's environment
	$node->init(allows_streaming => 'logical',
		extra => [ "--encoding=$options{encoding}", '--locale=C' ]);
	my $settings = `postgres --describe-config 2>/dev/null`;
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'authlog'",
		($settings =~ /^output_plugin_libraries/m
			? "output_plugin_libraries = 'pgoutput, test_decoding, authlog'" : ()),
		"authlog.mirror_uri = 'mongodb://127.0.0.1:$store->{port}/'",
		"authlog.store_database = 'authlog_$name'",
		"authlog.mirror_idle_advance = '1s'",
		"authlog.worker_max_backoff = '1s'",
		@conf, ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION authlog'
		. ($options{version} ? " VERSION '$options{version}'" : ''));
	return $node;
}

sub wait_for_mirror_state
{
	my ($node, $state) = @_;
	$node->poll_query_until('postgres',
		"SELECT state = '$state' FROM authlog.mirror_status")
	  or die "the mirror never reached state $state";
}

# $count failures and successes over a few accounts of $tenant, each in its own transaction
sub record_events
{
	my ($node, $tenant, $count) = @_;
	$node->safe_psql('postgres', qq{
		DO \$\$
		BEGIN
			FOR n IN 1..$count LOOP
				PERFORM authlog.record_login('$tenant', 'o' || (n % 7 % 2), 'user' || (n % 7), n % 5 = 0,
					('203.0.113.' || (n % 50))::inet, 'agent', 'web', jsonb_build_object('n', n));
				COMMIT;
			END LOOP;
		END
		\$\$;});
}

# The proof each fault test ends with: the store caught up, and holds
# exactly what PostgreSQL holds, nothing lost, nothing duplicated.
sub verify_mirror
{
	my ($node, $what) = @_;
	# seal first: a timed cut committing after mirror_sync would be in
	# PostgreSQL but not yet in the store
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')");
	is($ret, 0, "$what: the mirror caught up") or diag($stderr);
	my $differences = $node->safe_psql('postgres',
		"SELECT tenant_id || ' ' || collection || ' ' || document_id::text || ': ' || problem
		 FROM authlog.mirror_verify()");
	is($differences, '', "$what: mirror_verify finds no difference");
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM authlog.auth_logs) = (SELECT count(*) FROM authlog.mirror_find('auth_logs'))
		   AND (SELECT count(*) FROM authlog.account_lockouts) = (SELECT count(*) FROM authlog.mirror_find('account_lockouts'))}),
		't', "$what: as many documents as rows");
}

1;
