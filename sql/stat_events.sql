-- authlog.stat_events counts committed events per tenant, organisation and event type in shared memory: what rolls back (a transaction, a subtransaction) and retries are not counted, stat_reset starts again, and a reader sees only what it may read.
SELECT authlog.stat_reset();
SELECT count(*) AS rows_after_reset FROM authlog.stat_events;
SELECT authlog.set_lockout_policy('t-stat-1', 2, '1 hour', '15 minutes');

-- two failures lock sam: login_failed twice, account_locked once
SELECT decision FROM authlog.record_login('t-stat-1', 'o1', 'sam', false, '192.0.2.1', 'ua', 'web',
                                          log_id => '00000000-0000-4000-8000-0000000057a1');
SELECT decision FROM authlog.record_login('t-stat-1', 'o1', 'sam', false, '192.0.2.1', 'ua', 'web');
-- a retry inserts nothing and counts nothing
SELECT decision FROM authlog.record_login('t-stat-1', 'o1', 'sam', false, '192.0.2.1', 'ua', 'web',
                                          log_id => '00000000-0000-4000-8000-0000000057a1');
-- a rolled-back transaction counts nothing
BEGIN;
SELECT decision FROM authlog.record_login('t-stat-1', 'o1', 'tom', true, '192.0.2.2', 'ua', 'web');
ROLLBACK;
-- nor does a rolled-back subtransaction; its committed sibling does
BEGIN;
SAVEPOINT first;
SELECT decision FROM authlog.record_login('t-stat-1', 'o2', 'uma', true, '192.0.2.3', 'ua', 'web');
ROLLBACK TO SAVEPOINT first;
SAVEPOINT second;
SELECT decision FROM authlog.record_login('t-stat-1', 'o2', 'uma', false, '192.0.2.3', 'ua', 'web');
RELEASE SAVEPOINT second;
COMMIT;
DO $$
BEGIN
	PERFORM authlog.record_login('t-stat-1', 'o2', 'vic', true, '192.0.2.4', 'ua', 'web');
	RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN
	PERFORM authlog.record_login('t-stat-2', 'o1', 'wyn', true, '192.0.2.5', 'ua', 'web');
END
$$;
-- a success that clears a counter, and a help-desk reset
SELECT decision FROM authlog.record_login('t-stat-1', 'o2', 'uma', true, '192.0.2.3', 'ua', 'web');
SELECT authlog.reset_lockout('t-stat-1', 'o1', 'sam', 'helpdesk') IS NOT NULL AS reset;

SELECT tenant_id, organisation_id, event_type, events, last_minute, last_hour,
       stats_reset <= now() AS reset_before
FROM authlog.stat_events WHERE tenant_id LIKE 't-stat-%' ORDER BY 1, 2, 3;

-- exactly what auth_logs holds
SELECT count(*) AS differences FROM (
	(SELECT tenant_id, organisation_id, event_type, events FROM authlog.stat_events WHERE tenant_id LIKE 't-stat-%'
	 EXCEPT
	 SELECT tenant_id, organisation_id, event_type, count(*) FROM authlog.auth_logs WHERE tenant_id LIKE 't-stat-%' GROUP BY 1, 2, 3)
	UNION ALL
	(SELECT tenant_id, organisation_id, event_type, count(*) FROM authlog.auth_logs WHERE tenant_id LIKE 't-stat-%' GROUP BY 1, 2, 3
	 EXCEPT
	 SELECT tenant_id, organisation_id, event_type, events FROM authlog.stat_events WHERE tenant_id LIKE 't-stat-%')
) d;

-- readers see their own tenant or organisation only; pg_read_all_stats sees every one
CREATE ROLE regress_stat_reader_t1_o2;
CREATE ROLE regress_stat_reader_t2;
CREATE ROLE regress_stat_monitor IN ROLE pg_read_all_stats;
SELECT authlog.grant_reader('regress_stat_reader_t1_o2', 't-stat-1', 'o2');
SELECT authlog.grant_reader('regress_stat_reader_t2', 't-stat-2');
GRANT USAGE ON SCHEMA authlog TO regress_stat_monitor;
GRANT SELECT ON authlog.stat_events TO regress_stat_monitor;
GRANT EXECUTE ON FUNCTION authlog.stat_events_readable() TO regress_stat_monitor;

SET ROLE regress_stat_reader_t1_o2;
SELECT tenant_id, organisation_id, event_type, events FROM authlog.stat_events ORDER BY 1, 2, 3;
-- calling the function underneath shows no more
SELECT count(*) FROM authlog.stat_events_readable() WHERE organisation_id <> 'o2' OR tenant_id <> 't-stat-1';
SELECT try($$SELECT authlog.stat_reset()$$);
RESET ROLE;
SET ROLE regress_stat_reader_t2;
SELECT tenant_id, organisation_id, event_type, events FROM authlog.stat_events ORDER BY 1, 2, 3;
RESET ROLE;
SET ROLE regress_stat_monitor;
SELECT count(DISTINCT tenant_id) AS tenants FROM authlog.stat_events WHERE tenant_id LIKE 't-stat-%';
RESET ROLE;

-- reset: nothing counted, then counting again
SELECT authlog.stat_reset();
SELECT count(*) AS rows_after_reset FROM authlog.stat_events;
SELECT decision FROM authlog.record_login('t-stat-2', 'o1', 'wyn', false, '192.0.2.5', 'ua', 'web');
SELECT tenant_id, event_type, events, last_minute, last_hour FROM authlog.stat_events;
