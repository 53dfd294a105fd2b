-- An expired lock is cleared by the first attempt after it (a lockout_reset with reason expired, recording what it cleared), and that attempt is judged on a clean counter; a failure after the failure window starts a new series at 1.
SET authlog.max_failed_attempts = 2;
SELECT decision FROM authlog.record_login('t-expiry', 'o1', 'erin', false, '192.0.2.1', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-expiry', 'o1', 'erin', false, '192.0.2.1', 'ua', 'web');

-- let the lock run out (the clock is the transaction time, so move the lock instead)
UPDATE authlog.account_lockouts
SET account_locked_until = now() - interval '1 second'
WHERE tenant_id = 't-expiry' AND user_id = 'erin';
SELECT failed_login_attempts, account_locked_until, locked FROM authlog.lockout_status('t-expiry', 'erin');
CREATE TEMP TABLE erin_lock AS
SELECT account_locked_until FROM authlog.account_lockouts WHERE tenant_id = 't-expiry' AND user_id = 'erin';

-- the next failure counts from 1 again
SELECT decision, failed_login_attempts, account_locked_until
FROM authlog.record_login('t-expiry', 'o1', 'erin', false, '192.0.2.1', 'ua', 'web',
                          log_id => '00000000-0000-4000-8000-00000000e001');

SELECT event_type, reason, decision, failed_login_attempts,
       metadata -> 'authlog' -> 'cleared_failed_login_attempts' AS cleared_attempts,
       metadata -> 'authlog' ? 'cleared_locked_until' AS has_cleared_until,
       metadata -> 'authlog' ->> 'trigger_log_id' AS trigger
FROM authlog.auth_logs
WHERE tenant_id = 't-expiry' AND recorded_at = (SELECT max(recorded_at) FROM authlog.auth_logs WHERE tenant_id = 't-expiry')
ORDER BY event_type;

-- the cleared lock is recorded exactly, to the microsecond
SELECT (r.metadata -> 'authlog' ->> 'cleared_locked_until')::timestamptz = l.account_locked_until AS cleared_exact_lock
FROM authlog.auth_logs r, erin_lock l
WHERE r.tenant_id = 't-expiry' AND r.reason = 'expired';

-- an expired lock followed by a success: one reset (expired), then allowed
SELECT decision FROM authlog.record_login('t-expiry', 'o1', 'frank', false, '192.0.2.2', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-expiry', 'o1', 'frank', false, '192.0.2.2', 'ua', 'web');
UPDATE authlog.account_lockouts
SET account_locked_until = now() - interval '1 second'
WHERE tenant_id = 't-expiry' AND user_id = 'frank';
SELECT decision, failed_login_attempts
FROM authlog.record_login('t-expiry', 'o1', 'frank', true, '192.0.2.2', 'ua', 'web');
SELECT event_type, reason, decision
FROM authlog.auth_logs
WHERE tenant_id = 't-expiry' AND user_id = 'frank'
ORDER BY recorded_at, event_type;
SELECT failed_login_attempts, account_locked_until, lockout_count
FROM authlog.account_lockouts WHERE tenant_id = 't-expiry' AND user_id = 'frank';
RESET authlog.max_failed_attempts;

-- the failure window: a failure after first_failed_at + window starts a new series
SELECT decision, failed_login_attempts FROM authlog.record_login('t-expiry', 'o1', 'gina', false, '192.0.2.3', 'ua', 'web');
SELECT decision, failed_login_attempts FROM authlog.record_login('t-expiry', 'o1', 'gina', false, '192.0.2.3', 'ua', 'web');
UPDATE authlog.account_lockouts
SET first_failed_at = now() - interval '15 minutes 1 second'
WHERE tenant_id = 't-expiry' AND user_id = 'gina';
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-expiry', 'gina');
SELECT decision, failed_login_attempts FROM authlog.record_login('t-expiry', 'o1', 'gina', false, '192.0.2.3', 'ua', 'web');
SELECT first_failed_at = (SELECT max(recorded_at) FROM authlog.auth_logs
                          WHERE tenant_id = 't-expiry' AND user_id = 'gina') AS new_series_starts_at_this_failure
FROM authlog.account_lockouts WHERE tenant_id = 't-expiry' AND user_id = 'gina';

-- inside the window (a second before its end, by the call's clock) the series goes on
BEGIN;
UPDATE authlog.account_lockouts
SET first_failed_at = now() - interval '14 minutes 59 seconds'
WHERE tenant_id = 't-expiry' AND user_id = 'gina';
SELECT decision, failed_login_attempts FROM authlog.record_login('t-expiry', 'o1', 'gina', false, '192.0.2.3', 'ua', 'web');
COMMIT;

-- the caller's occurred_at is evidence only: back-dated attempts count now and cannot slip past a lock
SET authlog.max_failed_attempts = 2;
SELECT decision, failed_login_attempts
FROM authlog.record_login('t-expiry', 'o1', 'hal', false, '192.0.2.4', 'ua', 'web',
                          occurred_at => now() - interval '1 day');
SELECT decision, failed_login_attempts
FROM authlog.record_login('t-expiry', 'o1', 'hal', false, '192.0.2.4', 'ua', 'web',
                          occurred_at => now() - interval '2 days');
SELECT decision, failed_login_attempts
FROM authlog.record_login('t-expiry', 'o1', 'hal', true, '192.0.2.4', 'ua', 'web',
                          occurred_at => now() - interval '3 days');
SELECT occurred_at <= recorded_at - interval '1 day' AS occurred_as_reported, decision
FROM authlog.auth_logs WHERE tenant_id = 't-expiry' AND user_id = 'hal' AND decision IS NOT NULL
ORDER BY occurred_at DESC;
RESET authlog.max_failed_attempts;
