-- A reader of tenant A tries every route to tenant B's events: tables, settings, functions, views, COPY, leaky functions, statistics, estimates and error messages; each yields nothing of B.
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
-- direct reads, with B's id spelled out: readers have no table (1.1)
SELECT try($$SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 't-escape-b'$$);
SELECT try($$SELECT count(*) FROM authlog.account_lockouts WHERE tenant_id = 't-escape-b'$$);
SELECT try($$SELECT count(*) FROM authlog.seals WHERE tenant_id = 't-escape-b'$$);
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
-- COPY checks the same privileges
COPY (SELECT tenant_id, count(*) FROM authlog.auth_logs GROUP BY 1 ORDER BY 1) TO STDOUT;
COPY authlog.auth_logs (tenant_id) TO STDOUT;
COPY (SELECT organisation_id, count(*) FROM authlog.incident_timeline('t-escape-b', '-infinity', 'infinity') GROUP BY 1) TO STDOUT;
-- a leaky function in WHERE sees only what the function returned
CREATE FUNCTION pg_temp.leak(v text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	IF v LIKE 'secret-b%' THEN
		RAISE NOTICE 'leaked %', v;
	END IF;
	RETURN true;
END
$$;
SELECT count(*) FROM authlog.incident_timeline('t-escape-a', '-infinity', 'infinity') WHERE pg_temp.leak(user_id);
SELECT count(*) FROM authlog.incident_timeline('t-escape-b', '-infinity', 'infinity') WHERE pg_temp.leak(user_id);
-- errors that echo values: the cast only ever meets A's numeric ids
SELECT count(*) FROM authlog.incident_timeline('t-escape-a', '-infinity', 'infinity') WHERE user_id::integer > 0;
SELECT count(*) FROM authlog.export_events('t-escape-a', '-infinity', 'infinity') WHERE (metadata ->> 'secret')::integer IS NULL;
SELECT try($$SELECT user_id::integer / 0 FROM authlog.incident_timeline('t-escape-b', '-infinity', 'infinity')$$);
-- the planner's statistics: pg_stats hides tables under row-level security, pg_statistic is closed
SELECT count(*) FROM pg_stats WHERE schemaname = 'authlog';
SELECT count(*) FROM pg_stats_ext WHERE schemaname = 'authlog';
SELECT try($$SELECT count(*) FROM pg_statistic$$);
\c - :superuser

-- EXPLAIN: a reader sees its function call, never the tables, so the
-- planner's estimates over every tenant's rows reach it no more than the
-- rows do (1.0 showed a reader that t-escape-big existed, roughly how large
-- it was, and how common one of its user ids was).  sql/explain_oracle.sql
-- asks the yes/no questions; this measures the estimates.
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
SET ROLE regress_escape_a;
SELECT estimated_rows($q$SELECT * FROM authlog.incident_timeline('t-escape-big', '-infinity', 'infinity')$q$)
     = estimated_rows($q$SELECT * FROM authlog.incident_timeline('t-escape-none', '-infinity', 'infinity')$q$) AS tenant_size_hidden,
       estimated_rows($q$SELECT * FROM authlog.incident_timeline('t-escape-big', '-infinity', 'infinity', 'ceo')$q$)
     = estimated_rows($q$SELECT * FROM authlog.incident_timeline('t-escape-big', '-infinity', 'infinity', 'nobody')$q$) AS user_frequency_hidden,
       try($$SELECT estimated_rows('SELECT * FROM authlog.auth_logs WHERE tenant_id = ''t-escape-big''')$$) AS table_estimate;
RESET ROLE;
-- the statistics settings a DBA may still choose change nothing a reader sees
ALTER TABLE authlog.auth_logs ALTER COLUMN tenant_id SET STATISTICS 0,
	ALTER COLUMN user_id SET STATISTICS 0, ALTER COLUMN ip_address SET STATISTICS 0;
DELETE FROM pg_statistic WHERE starelid = 'authlog.auth_logs'::regclass;
ANALYZE authlog.auth_logs;
-- the investigation functions still answer from indexes without those statistics
SELECT name, reads_auth_logs_by_index(statement) FROM plan_statements ORDER BY name;
ALTER TABLE authlog.auth_logs ALTER COLUMN tenant_id SET STATISTICS -1,
	ALTER COLUMN user_id SET STATISTICS -1, ALTER COLUMN ip_address SET STATISTICS -1;
ANALYZE authlog.auth_logs;
