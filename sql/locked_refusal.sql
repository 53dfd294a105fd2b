-- While an account is locked every attempt, a correct password too, returns locked, is written as login_failed with reason account_locked, and neither counts nor extends the lock.
SET authlog.max_failed_attempts = 2;
SELECT decision FROM authlog.record_login('t-locked', 'o1', 'dave', false, '198.51.100.1', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-locked', 'o1', 'dave', false, '198.51.100.1', 'ua', 'web');
RESET authlog.max_failed_attempts;

CREATE TEMP TABLE lock_before AS
SELECT failed_login_attempts, account_locked_until, lockout_count, last_failed_at, updated_at
FROM authlog.account_lockouts WHERE tenant_id = 't-locked' AND user_id = 'dave';

-- the right password, a wrong one, from another path: all refused
SELECT d.decision, d.failed_login_attempts,
       d.account_locked_until = (SELECT account_locked_until FROM lock_before) AS same_lock
FROM (VALUES (1, true, 'mobile'::authlog.auth_path), (2, false, 'web'), (3, true, 'sso')) a(n, ok, path),
     LATERAL authlog.record_login('t-locked', 'o1', 'dave', a.ok, '198.51.100.2', 'ua', a.path) d
ORDER BY a.n;

SELECT event_type, reason, decision, failed_login_attempts, auth_path
FROM authlog.auth_logs WHERE tenant_id = 't-locked'
ORDER BY recorded_at, failed_login_attempts, event_type, auth_path;

-- the account row did not move
SELECT a.failed_login_attempts = b.failed_login_attempts AS same_count,
       a.account_locked_until = b.account_locked_until AS same_lock,
       a.lockout_count = b.lockout_count AS same_lockout_count,
       a.last_failed_at = b.last_failed_at AS same_last_failure
FROM authlog.account_lockouts a, lock_before b
WHERE a.tenant_id = 't-locked' AND a.user_id = 'dave';

SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-locked', 'dave');
