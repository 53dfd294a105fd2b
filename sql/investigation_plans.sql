-- On 100,000 events over 100 tenants, every investigation function reads auth_logs by index only, bounded by the tenant and the period asked, for a superuser and for a reader alike: the functions run as definers over the caller's scope (1.1), so the backend's own counters are the witness, not the reader's EXPLAIN.
INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
                               user_agent, auth_path, occurred_at, recorded_at, metadata, decision,
                               failed_login_attempts)
SELECT 'plan-' || (n % 100), md5('plan-' || n)::uuid, 'org-' || (n % 3), 'user' || (n % 5000),
       (ARRAY['login_failed', 'login_failed', 'login_failed', 'login_success', 'account_locked', 'lockout_reset'])[1 + n % 6]::authlog.event_type,
       ('10.' || (n % 200) || '.' || (n % 7) || '.' || (n % 250))::inet, 'ua', 'web',
       timestamptz '2026-01-01 00:00+00' + n * interval '26 seconds', now(), '{}', 'failed', n % 5
FROM generate_series(1, 100000) n;
ANALYZE authlog.auth_logs;

-- How a statement reads auth_logs: this transaction's counters of its
-- partitions (pg_stat_xact_user_tables) before and after it runs: index scans only, and
-- no more rows fetched than the bound (the tenant's own events number 1,000)
CREATE FUNCTION public.reads_auth_logs_by_index(statement text, bound bigint DEFAULT 1000) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	before record;
	after record;
	answered bigint;
BEGIN
	SELECT sum(seq_scan) AS seq_scan, sum(coalesce(idx_scan, 0)) AS idx_scan, sum(coalesce(idx_tup_fetch, 0)) AS fetched INTO before
	FROM pg_stat_xact_user_tables WHERE relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'authlog.auth_logs'::regclass);
	EXECUTE 'SELECT count(*) FROM (' || statement || ') s' INTO answered;
	SELECT sum(seq_scan) AS seq_scan, sum(coalesce(idx_scan, 0)) AS idx_scan, sum(coalesce(idx_tup_fetch, 0)) AS fetched INTO after
	FROM pg_stat_xact_user_tables WHERE relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'authlog.auth_logs'::regclass);
	RETURN CASE WHEN after.seq_scan = before.seq_scan AND after.idx_scan > before.idx_scan
	                 AND after.fetched - before.fetched <= bound THEN 'index'
	            ELSE format('%s sequential, %s index scans, %s rows fetched',
	                        after.seq_scan - before.seq_scan, after.idx_scan - before.idx_scan,
	                        after.fetched - before.fetched) END;
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

-- a call names its own period: a day of one account reads that account's
-- day, not the tenant: at most 10 rows fetched (user107 has 20 events, plan-7 1,000)
SELECT reads_auth_logs_by_index($$SELECT * FROM authlog.incident_timeline('plan-7', '2026-01-10', '2026-01-11', 'user107')$$, 10) AS account_day;
SELECT reads_auth_logs_by_index($$SELECT * FROM authlog.incident_timeline('plan-7', '2026-01-10 10:00', '2026-01-10 11:00')$$, 10) AS tenant_hour;
-- a reader with no grant on the tenant stops the scan before it starts
SET ROLE regress_plan_reader;
SELECT reads_auth_logs_by_index($$SELECT * FROM authlog.incident_timeline('plan-8', '-infinity', 'infinity')$$, 0) AS other_tenant;
RESET ROLE;
