# Every account_locked is announced with NOTIFY authlog_lockout, its log_id
# alone as payload, by the mirror worker once the store has it: not by the
# login's transaction (an open or rolled-back lockout announces nothing), and
# not twice for a retried login.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('notify');
my $node = new_mirrored_node('notify', $store);
$node->safe_psql('postgres',
	q{SELECT authlog.set_lockout_policy('t-notify', 3, '1 hour', '15 minutes')});
# the slot exists before a transaction stays open below (creating a slot
# waits for every open transaction)
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

# a listener: psql prints the notifications it received after each command
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN authlog_lockout');

sub notifications
{
	my $output = $listener->query_safe("SELECT 'poll'");
	my @received;
	push @received, [ $1, $2 ]
	  while $output =~ /Asynchronous notification "authlog_lockout" with payload "([^"]*)" received from server process with PID (\d+)/g;
	return @received;
}

sub fail_logins
{
	my ($user, $count) = @_;
	return join('', map {
		"SELECT authlog.record_login('t-notify', 'o1', '$user', false, '192.0.2.7', 'ua', 'web');\n"
	} 1 .. $count);
}

# a lockout still in its transaction, and one rolled back: nothing announced
my $open_tx = $node->background_psql('postgres');
$open_tx->query_safe("BEGIN;\n" . fail_logins('ned', 3));
$node->safe_psql('postgres', "BEGIN;\n" . fail_logins('pat', 3) . "ROLLBACK;\n");
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});
is(scalar(notifications()), 0, 'an uncommitted or rolled-back lockout is not announced');

$open_tx->query_safe('COMMIT');
$open_tx->quit;
$node->safe_psql('postgres', fail_logins('ola', 2)
	. "SELECT authlog.record_login('t-notify', 'o1', 'ola', false, '192.0.2.7', 'ua', 'web', log_id => '00000000-0000-4000-8000-00000000a1a1');\n");
# retrying the login that locked ola writes nothing new: no second announcement
$node->safe_psql('postgres',
	"SELECT authlog.record_login('t-notify', 'o1', 'ola', false, '192.0.2.7', 'ua', 'web', log_id => '00000000-0000-4000-8000-00000000a1a1');");
$node->safe_psql('postgres', q{SELECT authlog.mirror_sync('60s')});

my @received = notifications();
my $expected = $node->safe_psql('postgres', q{
	SELECT string_agg(log_id::text, ',' ORDER BY log_id) FROM authlog.auth_logs
	WHERE tenant_id = 't-notify' AND event_type = 'account_locked'});
is(join(',', sort map { $_->[0] } @received), $expected,
	'one notification per committed account_locked, carrying its log_id');
like($received[0][0], qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
	'the payload is the log_id alone: no tenant, no user');
my $worker_pid = $node->safe_psql('postgres', q{SELECT pid FROM authlog.mirror_status});
is_deeply([ map { $_->[1] } @received ], [ ($worker_pid) x 2 ],
	'sent by the mirror worker, not by the logins');
is($node->safe_psql('postgres',
	q{SELECT lockouts_notified || ' ' || notifications_failed FROM authlog.mirror_status}),
	'2 0', 'mirror_status counts them');

$listener->quit;
verify_mirror($node, 'after announcing lockouts');
$node->stop;
stop_store($store);
done_testing();
