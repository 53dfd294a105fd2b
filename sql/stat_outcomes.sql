-- authlog.stat_outcomes counts what committed write-path calls decided and did (decisions, refusals by a lock in force, help-desk unlocks, successes after failures), never a retry or a rollback, and exactly what auth_logs holds; attack_sources names each tenant's top attacking networks for monitoring roles only, and grant_monitor gives a role what monitoring needs.
SELECT authlog.stat_reset();
SELECT authlog.set_lockout_policy('t-out-1', 3, '1 hour', '1 second');

-- sam: failed, failed, locked (the third locks), then refused by the lock in force
SELECT decision FROM authlog.record_login('t-out-1', 'o1', 'sam', false, '198.51.100.1', 'ua', 'web',
                                          log_id => '00000000-0000-4000-8000-00000000a001');
SELECT decision FROM authlog.record_login('t-out-1', 'o1', 'sam', false, '198.51.100.2', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-out-1', 'o1', 'sam', false, '198.51.100.3', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-out-1', 'o1', 'sam', true, '198.51.100.4', 'ua', 'web');
-- a retry counts nothing, nor does a rolled-back call
SELECT decision FROM authlog.record_login('t-out-1', 'o1', 'sam', false, '198.51.100.1', 'ua', 'web',
                                          log_id => '00000000-0000-4000-8000-00000000a001');
BEGIN;
SELECT decision FROM authlog.record_login('t-out-1', 'o1', 'sam', true, '198.51.100.4', 'ua', 'web');
ROLLBACK;
-- once the lock expires, sam's success follows failures
SELECT pg_sleep(1.2);
SELECT decision FROM authlog.record_login('t-out-1', 'o1', 'sam', true, '203.0.113.9', 'ua', 'web');

-- ann: three failures, then a success: a success after failures
SELECT authlog.set_lockout_policy('t-out-1', 10, '1 hour', '15 minutes');
SELECT count(*) FROM (
	SELECT authlog.record_login('t-out-1', 'o2', 'ann', false, ('198.51.100.' || i)::inet, 'ua', 'web')
	FROM generate_series(5, 7) i) f;
SELECT decision FROM authlog.record_login('t-out-1', 'o2', 'ann', true, '203.0.113.10', 'ua', 'web');
-- bob: two failures, then a success: below authlog.success_after_failures_min (3), not counted
SELECT count(*) FROM (
	SELECT authlog.record_login('t-out-1', 'o2', 'bob', false, ('198.51.100.' || i)::inet, 'ua', 'web')
	FROM generate_series(8, 9) i) f;
SELECT decision FROM authlog.record_login('t-out-1', 'o2', 'bob', true, '203.0.113.11', 'ua', 'web');
-- ...unless the threshold is two
SET authlog.success_after_failures_min = 2;
SELECT count(*) FROM (
	SELECT authlog.record_login('t-out-1', 'o2', 'cat', false, ('198.51.100.' || i)::inet, 'ua', 'web')
	FROM generate_series(10, 11) i) f;
SELECT decision FROM authlog.record_login('t-out-1', 'o2', 'cat', true, '203.0.113.12', 'ua', 'web');
RESET authlog.success_after_failures_min;

-- a help-desk unlock, once; its retry counts nothing
SELECT authlog.reset_lockout('t-out-1', 'o2', 'ann', 'helpdesk', 'ticket 1',
                             log_id => '00000000-0000-4000-8000-00000000a002') IS NOT NULL AS reset;
SELECT authlog.reset_lockout('t-out-1', 'o2', 'ann', 'helpdesk', 'ticket 1',
                             log_id => '00000000-0000-4000-8000-00000000a002') IS NOT NULL AS retried;

SELECT tenant_id, organisation_id, outcome, total, last_minute, last_hour
FROM authlog.stat_outcomes WHERE tenant_id = 't-out-1' ORDER BY 1, 2, 3;

-- the decisions and unlocks are exactly what auth_logs holds
SELECT count(*) AS differences FROM (
	(SELECT organisation_id, outcome, total FROM authlog.stat_outcomes
	 WHERE tenant_id = 't-out-1' AND outcome IN ('allowed', 'failed', 'locked', 'helpdesk_unlock', 'refused_while_locked')
	 EXCEPT
	 (SELECT organisation_id, decision, count(*) FROM authlog.auth_logs
	  WHERE tenant_id = 't-out-1' AND decision IS NOT NULL GROUP BY 1, 2
	  UNION ALL
	  SELECT organisation_id, 'helpdesk_unlock', count(*) FROM authlog.auth_logs
	  WHERE tenant_id = 't-out-1' AND event_type = 'lockout_reset' AND reason = 'admin' GROUP BY 1
	  UNION ALL
	  SELECT organisation_id, 'refused_while_locked', count(*) FROM authlog.auth_logs
	  WHERE tenant_id = 't-out-1' AND reason = 'account_locked' GROUP BY 1))
) d;

-- attack_sources: monitoring roles only
CREATE ROLE regress_out_reader;
CREATE ROLE regress_out_monitor;
SELECT authlog.grant_reader('regress_out_reader', 't-out-1');
SELECT authlog.grant_monitor('regress_out_monitor');
SELECT pg_has_role('regress_out_monitor', 'pg_read_all_stats', 'USAGE') AS monitor_reads_all_stats;
SET ROLE regress_out_reader;
SELECT try($$SELECT * FROM authlog.attack_sources()$$);
-- a reader sees its own tenant's outcomes
SELECT count(*) > 0 AS sees_own, count(*) FILTER (WHERE tenant_id <> 't-out-1') AS others FROM authlog.stat_outcomes;
RESET ROLE;
SELECT count(*) FROM (
	SELECT authlog.record_login('t-out-2', 'o1', 'u' || i, false, ('2001:db8:0:1::' || i)::inet, 'ua', 'api')
	FROM generate_series(1, 12) i) f;
SET ROLE regress_out_monitor;
-- every tenant's counters, the workers' status
SELECT count(DISTINCT tenant_id) AS tenants FROM authlog.stat_outcomes WHERE tenant_id LIKE 't-out-%';
SELECT count(*) AS mirror_rows FROM authlog.mirror_status;
SELECT count(*) AS sealer_rows FROM authlog.sealer_status();
-- t-out-1's /24 (11 failures, 4 accounts), t-out-2's /64 (12 failures, 12 accounts)
SELECT tenant_id, network, addresses, failures, accounts, successes
FROM authlog.attack_sources('5 minutes', 5, 10) WHERE tenant_id LIKE 't-out-%';
SELECT tenant_id, network FROM authlog.attack_sources(min_failures => 12) WHERE tenant_id LIKE 't-out-%';
SELECT try($$SELECT * FROM authlog.attack_sources(top => 0)$$);
SELECT try($$SELECT * FROM authlog.attack_sources(recent => '2 days')$$);
SELECT try($$SELECT * FROM authlog.attack_sources(recent => NULL)$$);
-- and still no table, no event
SELECT try($$SELECT count(*) FROM authlog.auth_logs$$);
RESET ROLE;
SELECT authlog.revoke_monitor('regress_out_monitor');
SELECT pg_has_role('regress_out_monitor', 'pg_read_all_stats', 'USAGE') AS still_reads_all_stats;
SET ROLE regress_out_monitor;
SELECT try($$SELECT * FROM authlog.attack_sources()$$);
SELECT try($$SELECT count(*) FROM authlog.stat_outcomes$$);
RESET ROLE;
REVOKE USAGE ON SCHEMA authlog FROM regress_out_monitor;
SELECT authlog.revoke_reader('regress_out_reader');
DROP ROLE regress_out_reader;
DROP ROLE regress_out_monitor;
