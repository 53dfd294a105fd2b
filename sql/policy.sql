-- Each tenant's lockout policy overrides the GUC defaults; a threshold must be 1 to 100 (NIST SP 800-63B) and every policy value is checked.
SELECT authlog.set_lockout_policy('t-policy', 3, '5 minutes', '30 minutes');
SELECT tenant_id, max_failed_attempts, failure_window, lockout_duration, backoff_factor, max_lockout_duration
FROM authlog.lockout_policies WHERE tenant_id = 't-policy';

SELECT n, d.decision, date_trunc('second', d.account_locked_until - now()) AS locked_for
FROM generate_series(1, 3) n,
     LATERAL authlog.record_login('t-policy', 'o1', 'pat', false, '192.0.2.9', 'ua' || left(n::text, 0), 'web') d
ORDER BY n;

-- the policy's window, not the GUC's
SELECT decision FROM authlog.record_login('t-policy', 'o1', 'quin', false, '192.0.2.9', 'ua', 'web');
UPDATE authlog.account_lockouts SET first_failed_at = now() - interval '6 minutes'
WHERE tenant_id = 't-policy' AND user_id = 'quin';
SELECT decision, failed_login_attempts FROM authlog.record_login('t-policy', 'o1', 'quin', false, '192.0.2.9', 'ua', 'web');

-- another tenant keeps the defaults
SELECT n, d.decision
FROM generate_series(1, 3) n,
     LATERAL authlog.record_login('t-policy-other', 'o1', 'pat', false, '192.0.2.9', 'ua' || left(n::text, 0), 'web') d
ORDER BY n;

-- changing a policy replaces it
SELECT authlog.set_lockout_policy('t-policy', 10, '1 hour', '1 hour', 1.5, '1 day');
SELECT max_failed_attempts, failure_window, backoff_factor, max_lockout_duration
FROM authlog.lockout_policies WHERE tenant_id = 't-policy';

-- invalid policies
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', 0, '5 minutes', '30 minutes')$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', 101, '5 minutes', '30 minutes')$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', NULL, '5 minutes', '30 minutes')$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', 5, '0', '30 minutes')$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', 5, '5 minutes', '-1 minute')$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', 5, '5 minutes', '30 minutes', 0.5)$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', 5, '5 minutes', '30 minutes', 2, '10 minutes')$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-policy', 5, '5 minutes', '1000 years')$$);
SELECT try($$SELECT authlog.set_lockout_policy(NULL, 5, '5 minutes', '30 minutes')$$);
SELECT max_failed_attempts FROM authlog.lockout_policies WHERE tenant_id = 't-policy';

-- the GUC defaults are bounded the same way and reserved to superusers
SELECT try($$SET authlog.max_failed_attempts = 0$$);
SELECT try($$SET authlog.max_failed_attempts = 101$$);
SELECT name, boot_val, unit, context FROM pg_settings WHERE name LIKE 'authlog.%' ORDER BY name;
