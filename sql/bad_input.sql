-- Bad input gets an error with a specific SQLSTATE, a message and a hint, and writes nothing.
CREATE TEMP TABLE counts_before AS
SELECT (SELECT count(*) FROM authlog.auth_logs) AS events,
       (SELECT count(*) FROM authlog.account_lockouts) AS accounts;

-- NULL, empty and over-long ids
SELECT try($$SELECT authlog.record_login(NULL, 'o1', 'u1', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('t-bad', NULL, 'u1', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', NULL, false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('t-bad', '', 'u1', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', '', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login(repeat('t', 257), 'o1', 'u1', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('t-bad', repeat('o', 257), 'u1', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', repeat('u', 10 * 1024 * 1024), false, '192.0.2.1', 'ua', 'web')$$);
-- 256 characters is the limit, counted in characters, not bytes
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', repeat('é', 257), false, '192.0.2.1', 'ua', 'web')$$);

-- NULL success, auth_path, metadata (a NULL occurred_at is "not given": see the end)
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', NULL, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', NULL)$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', NULL)$$);

-- an unknown auth_path
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'telnet')$$);

-- metadata that is not an object, that uses the reserved key, or nests too deep
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', '[1, 2]')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', '"text"')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', 'null')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', '{"authlog": 1}')$$);
SELECT try(format($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', %L)$$,
                  repeat('{"a": ', 32) || '[1]' || repeat('}', 32)));
SELECT try(format($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', %L)$$,
                  repeat('{"a": ', 33) || '1' || repeat('}', 33)));

-- infinite occurred_at
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', '{}', NULL, 'infinity')$$);
SELECT try($$SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', '{}', NULL, '-infinity')$$);

-- reset_lockout and lockout_status check their ids the same way
SELECT try($$SELECT authlog.reset_lockout(NULL, 'o1', 'u1', 'helpdesk')$$);
SELECT try($$SELECT authlog.reset_lockout('t-bad', 'o1', repeat('u', 300), 'helpdesk')$$);
SELECT try($$SELECT * FROM authlog.lockout_status('t-bad', NULL)$$);

-- nothing was written
SELECT (SELECT count(*) FROM authlog.auth_logs) - events AS new_events,
       (SELECT count(*) FROM authlog.account_lockouts) - accounts AS new_accounts
FROM counts_before;

-- an id of exactly 256 characters (512 bytes) is accepted
SELECT decision FROM authlog.record_login('t-bad', 'o1', repeat('é', 256), false, '192.0.2.1', 'ua', 'web');

-- metadata exactly at the depth limit is stored, as given
SELECT decision FROM authlog.record_login('t-bad', 'o1', 'u-deep', false, '192.0.2.1', 'ua', 'web',
       (repeat('{"a": ', 31) || '[1]' || repeat('}', 31))::jsonb);
SELECT metadata = (repeat('{"a": ', 31) || '[1]' || repeat('}', 31))::jsonb AS stored_as_given
FROM authlog.auth_logs WHERE tenant_id = 't-bad' AND user_id = 'u-deep';

-- a NULL ip_address or user_agent is stored as NULL, not invented
SELECT decision FROM authlog.record_login('t-bad', 'o1', 'u-noip', false, NULL, NULL, 'api');
SELECT ip_address, user_agent FROM authlog.auth_logs WHERE tenant_id = 't-bad' AND user_id = 'u-noip';

-- the error a caller sees in full
\set VERBOSITY default
SELECT authlog.record_login('t-bad', 'o1', repeat('u', 300), false, '192.0.2.1', 'ua', 'web');
SELECT authlog.record_login('t-bad', 'o1', 'u1', false, '192.0.2.1', 'ua', 'web', '[]');

-- a NULL occurred_at is the argument not given: the transaction time is recorded
\set VERBOSITY terse
SELECT decision FROM authlog.record_login('t-bad', 'o1', 'u-notime', false, '192.0.2.1', 'ua', 'web', '{}', NULL, NULL);
SELECT occurred_at = recorded_at AS at_transaction_time FROM authlog.auth_logs WHERE tenant_id = 't-bad' AND user_id = 'u-notime';
