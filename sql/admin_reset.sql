-- reset_lockout always writes a lockout_reset with reason admin, the actor, the note and what it cleared, even when nothing was set; a repeated log_id makes it idempotent.
SET authlog.max_failed_attempts = 2;
SELECT decision FROM authlog.record_login('t-admin', 'o1', 'kate', false, '198.51.100.20', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-admin', 'o1', 'kate', false, '198.51.100.20', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-00000000a000');
RESET authlog.max_failed_attempts;

SELECT authlog.reset_lockout('t-admin', 'o1', 'kate', 'helpdesk:anna', 'ticket #4711, identity verified by phone',
                             log_id => '00000000-0000-4000-8000-00000000a001');

SELECT event_type, reason, actor, decision, failed_login_attempts, account_locked_until,
       metadata -> 'authlog' ->> 'note' AS note,
       metadata -> 'authlog' -> 'cleared_failed_login_attempts' AS cleared_attempts,
       (metadata -> 'authlog' ->> 'cleared_locked_until')::timestamptz =
         (SELECT account_locked_until FROM authlog.auth_logs
          WHERE tenant_id = 't-admin' AND event_type = 'account_locked') AS cleared_exact_lock
FROM authlog.auth_logs WHERE tenant_id = 't-admin' AND log_id = '00000000-0000-4000-8000-00000000a001';

SELECT failed_login_attempts, account_locked_until, locked FROM authlog.lockout_status('t-admin', 'kate');
SELECT failed_login_attempts, first_failed_at, account_locked_until, lockout_count
FROM authlog.account_lockouts WHERE tenant_id = 't-admin' AND user_id = 'kate';

-- the unlocked account is judged afresh
SELECT decision, failed_login_attempts FROM authlog.record_login('t-admin', 'o1', 'kate', false, '198.51.100.20', 'ua', 'web');

-- a retried reset is idempotent: same id, one row, retry counted, counters untouched
SELECT authlog.reset_lockout('t-admin', 'o1', 'kate', 'helpdesk:anna', 'ticket #4711, identity verified by phone',
                             log_id => '00000000-0000-4000-8000-00000000a001');
SELECT count(*), max(retry_count) FROM authlog.auth_logs
WHERE tenant_id = 't-admin' AND log_id = '00000000-0000-4000-8000-00000000a001';
SELECT failed_login_attempts FROM authlog.account_lockouts WHERE tenant_id = 't-admin' AND user_id = 'kate';

-- a reset of an account with nothing set, or never seen, is still evidence
SELECT authlog.reset_lockout('t-admin', 'o1', 'nobody', 'helpdesk:ben') IS NOT NULL AS recorded;
SELECT event_type, reason, actor, metadata
FROM authlog.auth_logs WHERE tenant_id = 't-admin' AND user_id = 'nobody';

-- a log_id that records something else is refused
SELECT regexp_replace(try($$SELECT authlog.reset_lockout('t-admin', 'o1', 'kate', 'helpdesk:anna', NULL,
           log_id => (SELECT log_id FROM authlog.auth_logs WHERE tenant_id = 't-admin' AND event_type = 'account_locked'))$$), '[0-9a-f-]{36}', 'its id') AS try;
SELECT try($$SELECT authlog.reset_lockout('t-admin', 'o1', 'other-user', 'helpdesk:anna', NULL,
           log_id => '00000000-0000-4000-8000-00000000a001')$$);
-- an actor is required
SELECT try($$SELECT authlog.reset_lockout('t-admin', 'o1', 'kate', NULL)$$);
SELECT try($$SELECT authlog.reset_lockout('t-admin', 'o1', 'kate', '')$$);
