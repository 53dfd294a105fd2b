-- On 100,000 events over 100 tenants, every investigation function is inlined into the caller's query and answers from indexes, for a superuser and for a reader under row-level security alike.
INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
                               user_agent, auth_path, occurred_at, recorded_at, metadata, decision,
                               failed_login_attempts)
SELECT 'plan-' || (n % 100), md5('plan-' || n)::uuid, 'org-' || (n % 3), 'user' || (n % 5000),
       (ARRAY['login_failed', 'login_failed', 'login_failed', 'login_success', 'account_locked', 'lockout_reset'])[1 + n % 6]::authlog.event_type,
       ('10.' || (n % 200) || '.' || (n % 7) || '.' || (n % 250))::inet, 'ua', 'web',
       timestamptz '2026-01-01 00:00+00' + n * interval '26 seconds', now(), '{}', 'failed', n % 5
FROM generate_series(1, 100000) n;
ANALYZE authlog.auth_logs;

-- How a statement reads auth_logs: index scans only (an un-inlined function would show none)
CREATE FUNCTION public.reads_auth_logs_by_index(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	index_scans integer := 0;
	seq_scans integer := 0;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || statement LOOP
		IF line ~ 'Seq Scan on auth_logs' THEN
			seq_scans := seq_scans + 1;
		ELSIF line ~ 'Index (Only )?Scan( Backward)? using auth_logs_\w+ on auth_logs'
		   OR line ~ 'Bitmap Index Scan on auth_logs_' THEN
			index_scans := index_scans + 1;
		END IF;
	END LOOP;
	RETURN CASE WHEN seq_scans = 0 AND index_scans > 0 THEN 'index'
	            ELSE format('%s sequential, %s index scans', seq_scans, index_scans) END;
END
$$;

CREATE TABLE plan_statements (name text, statement text);
INSERT INTO plan_statements VALUES
	('incident_timeline (account)', $$SELECT * FROM authlog.incident_timeline('plan-7', '2026-01-10', '2026-01-11', 'user107')$$),
	('incident_timeline (ip)', $$SELECT * FROM authlog.incident_timeline('plan-7', '2026-01-10', '2026-01-11', ip_address => '10.7.0.7')$$),
	('incident_timeline (tenant)', $$SELECT * FROM authlog.incident_timeline('plan-7', '2026-01-10', '2026-01-11')$$),
	('targeted_accounts', $$SELECT * FROM authlog.targeted_accounts('plan-7', '2026-01-10', '2026-01-11')$$),
	('attacking_ips', $$SELECT * FROM authlog.attacking_ips('plan-7', '2026-01-10 10:00', '2026-01-10 11:00')$$),
	('success_after_failures', $$SELECT * FROM authlog.success_after_failures('plan-7', '2026-01-10', '2026-01-11')$$),
	('lockout_trace', $$SELECT * FROM authlog.lockout_trace('plan-7', 'user107', '2026-01-20')$$),
	('compliance_report', $$SELECT * FROM authlog.compliance_report('plan-7', '2026-01-01', '2026-01-08')$$),
	('export_events', $$SELECT * FROM authlog.export_events('plan-7', '2026-01-10', '2026-01-11')$$);
GRANT SELECT ON plan_statements TO PUBLIC;

SELECT name, reads_auth_logs_by_index(statement) FROM plan_statements ORDER BY name;

CREATE ROLE regress_plan_reader;
SELECT authlog.grant_reader('regress_plan_reader', 'plan-7');
SELECT count(*) AS superuser_count FROM authlog.incident_timeline('plan-7', '2026-01-10', '2026-01-11') \gset
SET ROLE regress_plan_reader;
SELECT name, reads_auth_logs_by_index(statement) FROM plan_statements ORDER BY name;
-- and the reader gets the same answer as a superuser
SELECT count(*) > 0 AS has_rows, count(*) = :superuser_count AS same_rows
FROM authlog.incident_timeline('plan-7', '2026-01-10', '2026-01-11');
RESET ROLE;

-- A prepared statement ends up with a generic plan: under row-level security
-- it still bounds the index scan by the period, and checks the reader's
-- grants by hash lookups, not once per row.
CREATE FUNCTION public.plan_lines(statement text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || statement;
END
$$;
SET ROLE regress_plan_reader;
SET plan_cache_mode = force_generic_plan;
PREPARE hour_of_attacks(text, timestamptz, timestamptz) AS
	SELECT * FROM authlog.attacking_ips($1, $2, $3);
PREPARE day_of_account(text, timestamptz, timestamptz, text) AS
	SELECT * FROM authlog.incident_timeline($1, $2, $3, $4);
SELECT bool_or(line ~ 'Index Cond: \(\(tenant_id = \$1\) AND \(occurred_at >= \$2\) AND \(occurred_at < \$3\)\)') AS period_in_index,
       bool_or(line ~ 'hashed SubPlan') AS grants_hashed,
       bool_and(line !~ 'Seq Scan on auth_logs') AS no_seq_scan
FROM plan_lines($$EXECUTE hour_of_attacks('plan-7', '2026-01-10 10:00', '2026-01-10 11:00')$$) line;
SELECT bool_or(line ~ 'Index Cond: \(\(tenant_id = \$1\) AND \(occurred_at >= \$2\) AND \(occurred_at < \$3\)\)') AS period_in_index,
       bool_or(line ~ 'hashed SubPlan') AS grants_hashed,
       bool_and(line !~ 'Seq Scan on auth_logs') AS no_seq_scan
FROM plan_lines($$EXECUTE day_of_account('plan-7', '2026-01-10', '2026-01-11', 'user107')$$) line;
RESET plan_cache_mode;
RESET ROLE;
