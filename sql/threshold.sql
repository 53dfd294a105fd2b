-- Failures within the window count up; the one that reaches the threshold returns locked, locks for the lockout duration and writes exactly one account_locked event.
SHOW authlog.max_failed_attempts;
SHOW authlog.lockout_duration;

SELECT n, d.decision, d.failed_login_attempts,
       date_trunc('second', d.account_locked_until - now()) AS locked_for
FROM generate_series(1, 5) n,
     LATERAL authlog.record_login('t-threshold', 'o1', 'alice', false, '203.0.113.7', 'curl/8', 'web',
                                  log_id => ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid) d
ORDER BY n;

-- the running state is on every row; one account_locked, linked to the attempt that locked
SELECT event_type, CASE WHEN event_type = 'login_failed' THEN log_id::text ELSE 'authlog''s own' END AS log_id,
       decision, failed_login_attempts,
       account_locked_until - recorded_at AS locked_for,
       metadata -> 'authlog' ->> 'trigger_log_id' AS trigger
FROM authlog.auth_logs WHERE tenant_id = 't-threshold'
ORDER BY failed_login_attempts, event_type;

SELECT failed_login_attempts, first_failed_at = recorded_first AS series_started_at_first_failure, last_failed_ip,
       account_locked_until - updated_at AS locked_for, lockout_count
FROM authlog.account_lockouts,
     LATERAL (SELECT min(recorded_at) AS recorded_first FROM authlog.auth_logs
              WHERE tenant_id = 't-threshold') r
WHERE tenant_id = 't-threshold' AND user_id = 'alice';

-- another account of the same tenant is not affected
SELECT decision, failed_login_attempts
FROM authlog.record_login('t-threshold', 'o1', 'bob', false, '203.0.113.7', 'curl/8', 'web');

-- the derived id is authlog's own: a time-ordered random UUID (version 7), not one a caller can compute
SELECT substr(log_id::text, 15, 1) AS version, log_id <> ALL (SELECT log_id FROM authlog.auth_logs WHERE event_type = 'login_failed') AS not_a_callers
FROM authlog.auth_logs WHERE tenant_id = 't-threshold' AND event_type = 'account_locked';
-- its random bits are drawn a block at a time (64 ids) and handed out once: over several
-- blocks, no two ids share them
SELECT count(*) FROM generate_series(1, 300) n,
     LATERAL authlog.record_login('t-threshold-ids', 'o1', 'u' || n, true, NULL, NULL, 'api');
SELECT count(*) AS ids, count(DISTINCT substr(log_id::text, 20)) AS distinct_random_parts,
       bool_and(substr(log_id::text, 15, 1) = '7') AS version_7
FROM authlog.auth_logs WHERE tenant_id = 't-threshold-ids';

-- a threshold of 1 locks on the first failure
SET authlog.max_failed_attempts = 1;
SELECT decision, failed_login_attempts
FROM authlog.record_login('t-threshold', 'o1', 'carol', false, NULL, NULL, 'api');
RESET authlog.max_failed_attempts;
