-- A reader of tenant A tries every route to tenant B's events: tables, settings, functions, views, COPY, leaky functions, statistics and error messages; each yields nothing of B.
SELECT current_user AS superuser \gset
CREATE ROLE regress_escape_a LOGIN;
SELECT authlog.grant_reader('regress_escape_a', 't-escape-a');
-- A's accounts have numeric ids, B's do not: a cast that reached one of B's rows would fail
SELECT count(*) FROM (
	SELECT authlog.record_login('t-escape-a', 'o1', (100 + n)::text, n % 3 = 0, ('192.0.2.' || n)::inet, 'ua-a', 'web')
	FROM generate_series(1, 20) n) a;
SELECT count(*) FROM (
	SELECT authlog.record_login('t-escape-b', 'o1', 'secret-b-' || n, false, ('198.51.100.' || n)::inet, 'ua-b', 'web',
	                            jsonb_build_object('secret', 'b-' || n))
	FROM generate_series(1, 200) n) b;
ANALYZE authlog.auth_logs, authlog.account_lockouts;

-- a session of the reader's own, as its application would open
\c - regress_escape_a
-- direct reads, with B's id spelled out
SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 't-escape-b';
SELECT count(*) FROM authlog.account_lockouts WHERE tenant_id = 't-escape-b';
SELECT count(*) FROM authlog.auth_logs WHERE tenant_id LIKE 't-escape-%' AND tenant_id <> 't-escape-a';
-- settings: the authlog prefix is reserved, the real ones are superuser-only, and RLS reads no setting
SELECT try($$SET authlog.tenant_id = 't-escape-b'$$);
SELECT try($$SELECT set_config('authlog.tenant_id', 't-escape-b', false)$$);
SELECT try($$SELECT set_config('authlog.max_failed_attempts', '100', false)$$);
SELECT try($$SET row_security = off$$);
SELECT try($$SELECT count(*) FROM authlog.auth_logs$$);
RESET row_security;
SELECT try(format('SET session_authorization = %I', :'superuser'));
SELECT try(format('SET ROLE %I', :'superuser'));
-- the investigation functions and lockout_status with B's id
SELECT count(*) FROM authlog.incident_timeline('t-escape-b', '-infinity', 'infinity');
SELECT count(*) FROM authlog.targeted_accounts('t-escape-b', '-infinity', 'infinity');
SELECT count(*) FROM authlog.attacking_ips('t-escape-b', '-infinity', 'infinity', 1);
SELECT count(*) FROM authlog.export_events('t-escape-b', '-infinity', 'infinity');
SELECT count(*) FROM authlog.lockout_trace('t-escape-b', 'secret-b-1', 'infinity');
SELECT count(*) FROM authlog.compliance_report('t-escape-b', '-infinity', 'infinity');
SELECT count(*) FROM authlog.lockout_status('t-escape-b', 'secret-b-1');
-- views
SELECT count(*) FROM authlog.stat_events WHERE tenant_id = 't-escape-b';
SELECT * FROM authlog.reader_scope;
SELECT try($$SELECT * FROM authlog.mirror_status$$);
SELECT try($$SELECT * FROM authlog.reader_grants$$);
-- COPY runs the policies too
COPY (SELECT tenant_id, count(*) FROM authlog.auth_logs GROUP BY 1 ORDER BY 1) TO STDOUT;
COPY authlog.auth_logs (tenant_id) TO STDOUT;
COPY authlog.auth_logs (tenant_id) FROM STDIN;
t-escape-b
\.
-- a leaky function in WHERE sees only rows that passed the policy
CREATE FUNCTION pg_temp.leak(v text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	IF v LIKE 'secret-b%' THEN
		RAISE NOTICE 'leaked %', v;
	END IF;
	RETURN true;
END
$$;
SELECT count(*) FROM authlog.auth_logs WHERE pg_temp.leak(user_id);
SELECT count(*) FROM authlog.account_lockouts WHERE pg_temp.leak(user_id);
SELECT count(*) FROM authlog.incident_timeline('t-escape-b', '-infinity', 'infinity') WHERE pg_temp.leak(user_id);
-- errors that echo values: the cast only ever meets A's numeric ids
SELECT count(*) FROM authlog.auth_logs WHERE user_id::integer > 0;
SELECT count(*) FROM authlog.auth_logs WHERE (metadata ->> 'secret')::integer IS NULL;
SELECT try($$SELECT user_id::integer / 0 FROM authlog.auth_logs WHERE tenant_id = 't-escape-b'$$);
-- the planner's statistics: pg_stats hides tables under row-level security, pg_statistic is closed
SELECT count(*) FROM pg_stats WHERE schemaname = 'authlog';
SELECT count(*) FROM pg_stats_ext WHERE schemaname = 'authlog';
SELECT try($$SELECT count(*) FROM pg_statistic$$);
\c - :superuser

-- EXPLAIN is a side channel PostgreSQL does not close: the planner's row
-- estimates come from statistics over every tenant.  Measured here: a
-- reader of A sees that tenant t-escape-big exists and roughly how many
-- events it has, and how common one of its user ids is.
SELECT count(*) FROM (
	SELECT authlog.record_login('t-escape-big', 'o1', 'ceo', false, '203.0.113.9', 'ua', 'web')
	FROM generate_series(1, 3000) n) big;
ANALYZE authlog.auth_logs;
CREATE FUNCTION public.estimated_rows(statement text) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || statement INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric;
END
$$;
CREATE TABLE explain_probe (what text, tenant_estimate numeric, unknown_tenant_estimate numeric, user_estimate numeric, unknown_user_estimate numeric);
GRANT INSERT, SELECT ON explain_probe TO regress_escape_a;
-- what the reader's EXPLAIN shows for a tenant and a user that exist and for ones that do not
CREATE FUNCTION public.probe_estimates(what text) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO explain_probe SELECT what,
		estimated_rows($q$SELECT * FROM authlog.auth_logs WHERE tenant_id = 't-escape-big'$q$),
		estimated_rows($q$SELECT * FROM authlog.auth_logs WHERE tenant_id = 't-escape-none'$q$),
		estimated_rows($q$SELECT * FROM authlog.auth_logs WHERE user_id = 'ceo'$q$),
		estimated_rows($q$SELECT * FROM authlog.auth_logs WHERE user_id = 'nobody'$q$)
$$;
SET ROLE regress_escape_a;
SELECT probe_estimates('default statistics');
RESET ROLE;
-- what a DBA can do: no statistics on the columns that identify tenants and
-- people (the planner then assumes a fixed selectivity for them)
ALTER TABLE authlog.auth_logs ALTER COLUMN tenant_id SET STATISTICS 0,
	ALTER COLUMN user_id SET STATISTICS 0, ALTER COLUMN ip_address SET STATISTICS 0;
DELETE FROM pg_statistic WHERE starelid = 'authlog.auth_logs'::regclass;
ANALYZE authlog.auth_logs;
SET ROLE regress_escape_a;
SELECT probe_estimates('statistics 0 on tenant_id, user_id, ip_address');
RESET ROLE;
SELECT what,
       tenant_estimate > 3 * unknown_tenant_estimate AS tells_tenant_exists,
       tenant_estimate BETWEEN 3000 / 2 AND 3000 * 2 AS tells_its_size,
       user_estimate > 3 * unknown_user_estimate AS tells_user_is_common
FROM explain_probe ORDER BY what;
-- the investigation functions still answer from indexes without those statistics
SELECT name, reads_auth_logs_by_index(statement) FROM plan_statements ORDER BY name;
ALTER TABLE authlog.auth_logs ALTER COLUMN tenant_id SET STATISTICS -1,
	ALTER COLUMN user_id SET STATISTICS -1, ALTER COLUMN ip_address SET STATISTICS -1;
ANALYZE authlog.auth_logs;
