# The owner of the database is not a superuser and must not become one.
# Mallory owns the database the workers run in; she points its search_path
# at her own schema first and plants operators (=, <>, <, <=, >, >= on the
# types authlog's SQL compares) and functions (now(), lower()) there, each
# of which notes who ran it and, when that is a superuser, makes her one.
# She also sets what a database may impose on every session: a time zone,
# date and interval styles, read-only transactions, a statement timeout.
# After a restart the sealer and the mirror work under those settings, and a
# superuser calls every function of authlog in that database: nothing she
# wrote runs, and the workers' seals and documents are what they would be
# without her.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use AuthlogMirror;

my $store = start_store('hostile_path');
my $node = new_mirrored_node('hostile_path', $store, "authlog.seal_interval = '1s'");

# the superuser's own sessions say what they need, as a careful DBA's would;
# the workers and the functions must not depend on anyone being careful
my $careful = q{SET default_transaction_read_only = off; SET statement_timeout = 0; };
# ... from the connection on: those SETs are statements too, and under her
# statement_timeout of 1 ms one of them (the first after a restart, say) can
# itself be cancelled
$ENV{PGOPTIONS} = '-c default_transaction_read_only=off -c statement_timeout=0';
sub superuser_psql
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $careful . $sql);
}
# and the test's own checks do not run her operators either
my $checking = $careful . q{SET search_path = pg_catalog, pg_temp; };

record_events($node, 'before-plant', 20);

$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	ALTER DATABASE postgres OWNER TO mallory;
	-- a grant for a seal-reading role of hers, so the readers' paths run too
	SELECT authlog.grant_reader('mallory', 'hostile');
});

my $plant = q{
	CREATE TABLE public.captured (what text, by_role text, superuser text, query text);
	GRANT INSERT ON public.captured TO PUBLIC;
	CREATE FUNCTION public.capture(what text) RETURNS void
	LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.captured VALUES (what, current_user, pg_catalog.current_setting('is_superuser'), pg_catalog.current_query());
		IF pg_catalog.current_setting('is_superuser') OPERATOR(pg_catalog.=) 'on' THEN
			EXECUTE 'ALTER ROLE mallory SUPERUSER';
		END IF;
	END
	$$;
	DO $$
	DECLARE
		t text;
		o text;
		f text;
	BEGIN
		FOREACH t IN ARRAY ARRAY['text', 'uuid', 'timestamptz', 'pg_lsn', 'int8', 'int4', 'bool',
		                         'bytea', 'inet', 'name', 'oid', 'jsonb', 'interval'] LOOP
			FOREACH o IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>='] LOOP
				f := pg_catalog.format('public.capture_%s_%s', t,
					pg_catalog.md5(o));
				EXECUTE pg_catalog.format(
					'CREATE FUNCTION %s(a pg_catalog.%I, b pg_catalog.%I) RETURNS boolean '
					'LANGUAGE plpgsql AS $f$ BEGIN PERFORM public.capture(%L); '
					'RETURN a OPERATOR(pg_catalog.%s) b; END $f$', f, t, t, o || ' on ' || t, o);
				EXECUTE pg_catalog.format(
					'CREATE OPERATOR public.%s (LEFTARG = pg_catalog.%I, RIGHTARG = pg_catalog.%I, FUNCTION = %s)',
					o, t, t, f);
			END LOOP;
		END LOOP;
	END
	$$;
	CREATE FUNCTION public.now() RETURNS timestamptz
	LANGUAGE plpgsql AS $$ BEGIN PERFORM public.capture('now()'); RETURN pg_catalog.now(); END $$;
	CREATE FUNCTION public.lower(v text) RETURNS text
	LANGUAGE plpgsql AS $$ BEGIN PERFORM public.capture('lower()'); RETURN pg_catalog.lower(v); END $$;
	CREATE FUNCTION public.unnest(v anyarray) RETURNS SETOF anyelement
	LANGUAGE plpgsql AS $$ BEGIN PERFORM public.capture('unnest()'); RETURN QUERY SELECT pg_catalog.unnest(v); END $$;
	ALTER DATABASE postgres SET search_path = public, pg_catalog;
	ALTER DATABASE postgres SET TimeZone = 'Pacific/Chatham';
	ALTER DATABASE postgres SET DateStyle = 'SQL, DMY';
	ALTER DATABASE postgres SET IntervalStyle = 'sql_standard';
	ALTER DATABASE postgres SET default_transaction_read_only = on;
	ALTER DATABASE postgres SET statement_timeout = '1ms';
};
my ($rc, $out, $err) = $node->psql('postgres', $plant, extra_params => [ '-U', 'mallory' ]);
is($rc, 0, 'the database owner plants her operators and settings') or diag($err);

# the plant is live: a session that does not pin its path runs her operator
$node->safe_psql('postgres', $careful . q{SET ROLE mallory; SELECT 'a'::text = 'a'::text});
is($node->safe_psql('postgres', $checking . q{SELECT count(*) > 0 FROM public.captured}), 't',
	'an unqualified comparison in a session under her search_path runs her operator');
$node->safe_psql('postgres', $checking . q{DELETE FROM public.captured});

# the workers start again under her settings
$node->restart;

superuser_psql(q{
	DO $$
	BEGIN
		FOR n IN 1..30 LOOP
			PERFORM authlog.record_login('after-plant', 'o' || (n % 7 % 2), 'user' || (n % 7), n % 5 OPERATOR(pg_catalog.=) 0,
				('203.0.113.' || (n % 50))::inet, 'agent', 'web', jsonb_build_object('n', n));
			COMMIT;
		END LOOP;
	END
	$$;});
superuser_psql(q{SELECT authlog.reset_lockout('after-plant', 'o1', 'user1', 'helpdesk:ann', 'call')});
superuser_psql(q{SELECT authlog.set_lockout_policy('after-plant', 3, '1 hour', '15 minutes')});
superuser_psql(q{SELECT authlog.record_login('after-plant', 'o1', 'user9', false, '192.0.2.9', 'ua', 'web')
                 FROM generate_series(1, 4)});

# the sealer and the mirror catch up under her settings
my ($sealed_rc, $sealed_out, $sealed_err) = $node->psql('postgres',
	$careful . q{SELECT authlog.seal_now('60s'); SELECT authlog.mirror_sync('60s')});
is($sealed_rc, 0, 'the sealer and the mirror work under a hostile database setup') or diag($sealed_err);

# every function of authlog, called by a superuser in her database
my @calls = (
	q{SELECT * FROM authlog.mirror_verify()},
	q{SELECT * FROM authlog.mirror_verify('after-plant')},
	q{SELECT * FROM authlog.verify_store_seals()},
	q{SELECT * FROM authlog.verify_store_seals('after-plant', '-infinity')},
	q{SELECT * FROM authlog.verify_seals()},
	q{SELECT * FROM authlog.verify_seals('after-plant', '-infinity')},
	q{SELECT * FROM authlog.mirror_find('auth_logs', '{"tenant_id": "after-plant"}')},
	q{SELECT * FROM authlog.mirror_find('account_lockouts')},
	q{SELECT * FROM authlog.mirror_status},
	q{SELECT * FROM authlog.sealer_status()},
	q{SELECT * FROM authlog.stat_events},
	q{SELECT authlog.stat_reset()},
	q{SELECT * FROM authlog.lockout_status('after-plant', 'user9')},
	q{SELECT * FROM authlog.lockout_status('after-plant', 'nobody')},
	q{SELECT * FROM authlog.record_login('after-plant', 'o1', 'user9', true, '192.0.2.9', 'ua', 'web')},
	q{SELECT * FROM authlog.incident_timeline('after-plant', '-infinity', 'infinity')},
	q{SELECT * FROM authlog.targeted_accounts('after-plant', '-infinity', 'infinity')},
	q{SELECT * FROM authlog.attacking_ips('after-plant', '-infinity', 'infinity', 1)},
	q{SELECT * FROM authlog.success_after_failures('after-plant', '-infinity', 'infinity', 1)},
	q{SELECT * FROM authlog.lockout_trace('after-plant', 'user9')},
	q{SELECT * FROM authlog.compliance_report('after-plant', '-infinity', 'infinity')},
	q{SELECT * FROM authlog.export_events('after-plant', '-infinity', 'infinity')},
	q{SELECT authlog.bson_to_json(authlog.jsonb_to_bson('{"a": [1, {"b": "c"}]}'))},
	q{SELECT authlog.event_digest(l) FROM authlog.auth_logs l},
	q{SELECT authlog.seal_digest(s) FROM authlog.seals s},
	q{SELECT authlog.grant_service('mallory')},
	q{SELECT authlog.grant_reader('mallory', 'after-plant', 'o1')},
	q{SELECT authlog.revoke_reader('mallory', 'after-plant', 'o1')},
	q{SELECT authlog.seal_now('60s')},
	q{SELECT authlog.mirror_sync('60s')},
);
for my $call (@calls)
{
	my ($call_rc, $call_out, $call_err) = $node->psql('postgres', $careful . $call);
	is($call_rc, 0, "a superuser calls: $call") or diag($call_err);
}

is($node->safe_psql('postgres', $checking . q{
	SELECT coalesce(string_agg(DISTINCT what || ' as ' || by_role || ' in ' || coalesce(query, 'a worker'), ', '), '')
	FROM public.captured WHERE superuser = 'on'}),
	'', 'nothing she planted ran as a superuser: not in a worker, not in a function');
is($node->safe_psql('postgres', $checking . q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}),
	'f', 'the database owner is still not a superuser');

# what the workers wrote is what they write without her (checked, as the
# shared checks are, without her settings)
$node->safe_psql('postgres', $checking . q{ALTER DATABASE postgres RESET ALL});
is($node->safe_psql('postgres', $checking . q{
	SELECT count(*) FROM authlog.verify_seals() WHERE status <> 'ok'}),
	'0', 'every seal the sealer wrote under her settings verifies');
verify_mirror($node, 'under a hostile database setup');

$node->stop;
stop_store($store);
done_testing();
