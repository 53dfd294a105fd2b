# The store's password is never a setting: PostgreSQL logs every changed
# setting with its value.  A URI with a password in it is refused, by the
# mirror and by the functions that open the store, without the refusal
# repeating the password; the password comes from the file
# authlog.store_credentials_file names, which only its owner may read.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('credentials');
my $node = new_mirrored_node('credentials', $store);
my $port = $store->{port};
my $secret = 'sekrit-Pa55word';

sub set_and_reload
{
	my ($sql) = @_;
	$node->safe_psql('postgres', $sql . '; SELECT pg_reload_conf()');
	sleep 1;
}

sub mirror_error_matches
{
	my ($pattern, $what) = @_;
	ok($node->poll_query_until('postgres',
		"SELECT coalesce(last_error, '') ~ " . $node->safe_psql('postgres', "SELECT quote_literal(\$\$$pattern\$\$)")
		. " FROM authlog.mirror_status"), $what)
	  or diag($node->safe_psql('postgres', 'SELECT last_error FROM authlog.mirror_status'));
}

# a password in the URI: refused, and never repeated
set_and_reload(qq{ALTER SYSTEM SET authlog.mirror_uri = 'mongodb://mirror:$secret\@127.0.0.1:$port/'});
mirror_error_matches('carries a password', 'the mirror refuses a URI with a password in it');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM authlog.mirror_verify()');
like($err, qr/authlog.mirror_uri carries a password/, 'so does mirror_verify');
unlike($err . $node->safe_psql('postgres', 'SELECT last_error FROM authlog.mirror_status'),
	qr/\Q$secret\E/, 'neither error repeats the password');

# the password from a file: one the group or others may read is refused
my $file = "${PostgreSQL::Test::Utils::tmp_check}/store_password";
open(my $fh, '>', $file) or die $!;
print $fh "$secret\n";
close($fh);
chmod 0644, $file;
set_and_reload(qq{ALTER SYSTEM SET authlog.mirror_uri = 'mongodb://mirror\@127.0.0.1:$port/';
	ALTER SYSTEM SET authlog.store_credentials_file = '$file'});
mirror_error_matches('accessible by its group or others', 'a credentials file others may read is refused');

# owner-only: the mirror connects with the user of the URI and the file's password
chmod 0600, $file;
# (the URI with the password went through the log above, as ALTER SYSTEM and
# the reload wrote it: what the refusal is there to end)
$node->restart;
my $log_offset = -s $node->logfile;
my ($sync_rc, $sync_out, $sync_err) = $node->psql('postgres', q{SELECT authlog.mirror_sync('5s')});
my $last_error = $node->safe_psql('postgres', q{SELECT coalesce(last_error, '') FROM authlog.mirror_status});
unlike($last_error, qr/credentials_file|carries a password/, 'an owner-only file is accepted');
record_events($node, 'tenant-cred', 5);
if ($sync_rc == 0)
{
	verify_mirror($node, 'with the password from the file');
}
else
{
	# a store that checks passwords: the error is its answer to the user and password sent
	like($last_error, qr/auth|Authentication|SASL|SCRAM/i, 'the store was sent the user and the password');
}

my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/\Q$secret\E/, 'with the password in the file, it never reaches the server log');

$node->stop;
stop_store($store);
done_testing();
