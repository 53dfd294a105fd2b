-- Progressive lockout: each consecutive lockout lasts lockout_duration times backoff_factor to the power of the lockouts before, capped by max_lockout_duration; a success starts the progression again.
SELECT authlog.set_lockout_policy('t-progressive', 2, '10 minutes', '1 minute', 2, '3 minutes');

CREATE FUNCTION pg_temp.lock_once(account text) RETURNS interval
LANGUAGE plpgsql AS $$
DECLARE
	d authlog.login_decision;
BEGIN
	-- any lock still in force runs out first
	UPDATE authlog.account_lockouts SET account_locked_until = now() - interval '1 second'
	WHERE tenant_id = 't-progressive' AND user_id = account AND account_locked_until IS NOT NULL;
	d := authlog.record_login('t-progressive', 'o1', account, false, '203.0.113.50', 'ua', 'web');
	d := authlog.record_login('t-progressive', 'o1', account, false, '203.0.113.50', 'ua', 'web');
	RETURN date_trunc('second', d.account_locked_until - now());
END
$$;

SELECT n, pg_temp.lock_once('leo') AS lockout FROM generate_series(1, 4) n;
SELECT lockout_count FROM authlog.account_lockouts WHERE tenant_id = 't-progressive' AND user_id = 'leo';

-- the account_locked events record the progression
SELECT metadata -> 'authlog' -> 'lockout_count' AS lockout_count,
       metadata -> 'authlog' -> 'lockout_seconds' AS lockout_seconds
FROM authlog.auth_logs WHERE tenant_id = 't-progressive' AND event_type = 'account_locked'
ORDER BY (metadata -> 'authlog' ->> 'lockout_count')::int;

-- a success resets lockout_count: the next lockout is the base duration again
UPDATE authlog.account_lockouts SET account_locked_until = now() - interval '1 second'
WHERE tenant_id = 't-progressive' AND user_id = 'leo';
SELECT decision FROM authlog.record_login('t-progressive', 'o1', 'leo', true, '203.0.113.51', 'ua', 'web');
SELECT pg_temp.lock_once('leo') AS lockout;

-- an admin reset does too
SELECT pg_temp.lock_once('leo') AS lockout;
SELECT authlog.reset_lockout('t-progressive', 'o1', 'leo', 'helpdesk:cy') IS NOT NULL;
SELECT pg_temp.lock_once('leo') AS lockout;

-- without a cap in the policy, authlog.max_lockout_duration caps it
SELECT authlog.set_lockout_policy('t-progressive', 2, '10 minutes', '1 hour', 100);
SET authlog.max_lockout_duration = '5h';
SELECT n, pg_temp.lock_once('mia') AS lockout FROM generate_series(1, 3) n;
RESET authlog.max_lockout_duration;
