-- A success on an unlocked account writes login_success; if it clears a non-zero counter it also writes a lockout_reset with reason login_success recording what it cleared; a success sets lockout_count back to 0.
SELECT decision FROM authlog.record_login('t-success', 'o1', 'hank', false, '203.0.113.9', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-success', 'o1', 'hank', false, '203.0.113.9', 'ua', 'web');
SELECT decision, failed_login_attempts, account_locked_until
FROM authlog.record_login('t-success', 'o1', 'hank', true, '203.0.113.10', 'ua', 'web',
                          log_id => '00000000-0000-4000-8000-00000000c001');

SELECT event_type, reason, decision, failed_login_attempts, metadata
FROM authlog.auth_logs
WHERE tenant_id = 't-success' AND user_id = 'hank' AND event_type IN ('login_success', 'lockout_reset')
ORDER BY event_type;

SELECT failed_login_attempts, first_failed_at, account_locked_until, lockout_count
FROM authlog.account_lockouts WHERE tenant_id = 't-success' AND user_id = 'hank';

-- a success on a clean counter writes no reset
SELECT decision FROM authlog.record_login('t-success', 'o1', 'hank', true, '203.0.113.10', 'ua', 'web');
SELECT count(*) FILTER (WHERE event_type = 'lockout_reset') AS resets,
       count(*) FILTER (WHERE event_type = 'login_success') AS successes
FROM authlog.auth_logs WHERE tenant_id = 't-success' AND user_id = 'hank';

-- an account never seen: a success needs no lockout row
SELECT decision, failed_login_attempts FROM authlog.record_login('t-success', 'o1', 'ivy', true, '203.0.113.11', 'ua', 'mobile');
SELECT count(*) AS lockout_rows FROM authlog.account_lockouts WHERE tenant_id = 't-success' AND user_id = 'ivy';

-- lockout_count goes back to 0 after a success
SET authlog.max_failed_attempts = 1;
SELECT decision FROM authlog.record_login('t-success', 'o1', 'jack', false, '203.0.113.12', 'ua', 'web');
UPDATE authlog.account_lockouts SET account_locked_until = now() - interval '1 second'
WHERE tenant_id = 't-success' AND user_id = 'jack';
SELECT lockout_count FROM authlog.account_lockouts WHERE tenant_id = 't-success' AND user_id = 'jack';
SELECT decision FROM authlog.record_login('t-success', 'o1', 'jack', true, '203.0.113.12', 'ua', 'web');
SELECT lockout_count FROM authlog.account_lockouts WHERE tenant_id = 't-success' AND user_id = 'jack';
RESET authlog.max_failed_attempts;
