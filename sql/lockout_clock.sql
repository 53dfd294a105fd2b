-- The lockout clock is the call's own time, taken once it holds the account's row lock: a transaction older than a lock's duration neither sets a lock that is already over nor judges a lock by the transaction's start; recorded_at is that time.
SELECT authlog.set_lockout_policy('t-clock', 2, '1 hour', '2 seconds');

-- a lock set late in a long transaction runs its whole duration from the call
BEGIN;
SELECT pg_sleep(2.5);
SELECT d.decision FROM generate_series(1, 2) n,
       LATERAL authlog.record_login('t-clock', 'o1', 'late', false, NULL, left(n::text, 0), 'web') d;
SELECT account_locked_until > clock_timestamp() AS lock_in_force_after_the_call,
       account_locked_until - updated_at AS lock_duration,
       updated_at > now() AS at_the_call_not_the_transaction
FROM authlog.account_lockouts WHERE tenant_id = 't-clock' AND user_id = 'late';
SELECT bool_and(recorded_at > now()) AS events_recorded_at_the_call,
       bool_and(occurred_at = recorded_at) AS occurred_at_defaults_to_it
FROM authlog.auth_logs WHERE tenant_id = 't-clock' AND user_id = 'late';
COMMIT;

-- a lock that ran out while the transaction waited is judged over
SELECT d.decision FROM generate_series(1, 2) n,
       LATERAL authlog.record_login('t-clock', 'o1', 'early', false, NULL, left(n::text, 0), 'web') d;
BEGIN;
SELECT pg_sleep(2.5);
SELECT decision, failed_login_attempts FROM authlog.record_login('t-clock', 'o1', 'early', true, NULL, NULL, 'web');
COMMIT;
SELECT event_type, reason FROM authlog.auth_logs
WHERE tenant_id = 't-clock' AND user_id = 'early' AND event_type = 'lockout_reset';
