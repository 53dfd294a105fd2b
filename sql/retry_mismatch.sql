-- A retry is the same call again: a recorded log_id sent with any argument changed is refused with SQLSTATE LA001 and writes nothing; the ids of derived events are authlog's own, so no caller id can predict, pre-empt or block one.
SET authlog.max_failed_attempts = 3;
CREATE TEMP VIEW mismatch_state AS
SELECT (SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 't-mismatch') AS events,
       (SELECT sum(retry_count) FROM authlog.auth_logs WHERE tenant_id = 't-mismatch') AS retries,
       (SELECT string_agg(user_id || ':' || failed_login_attempts || ':' || (account_locked_until IS NOT NULL), ' ' ORDER BY user_id)
        FROM authlog.account_lockouts WHERE tenant_id = 't-mismatch') AS accounts;

-- omar logs in, then three wrong guesses lock him
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'omar', true, '203.0.113.61', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000e0010');
-- (n in the arguments makes each a call of its own)
SELECT d.decision FROM generate_series(1, 3) n,
       LATERAL authlog.record_login('t-mismatch', 'o1', 'omar', false, '198.51.100.1', 'bot' || left(n::text, 0), 'api') d;
CREATE TEMP TABLE before_replays AS SELECT * FROM mismatch_state;

-- the success's log_id replayed as a failure from elsewhere, at another time: refused, not "allowed"
SELECT try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', false, '198.51.100.1', 'bot', 'api', '{}',
           '00000000-0000-4000-8000-0000000e0010', '2026-01-01 00:00+00')$$);
-- each argument changed alone is refused too
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', false, '203.0.113.61', 'ua', 'web', log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_success;
-- (another organisation is refused by the account's own rule first: LA002, sql/account_organisation.sql)
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o2', 'omar', true, '203.0.113.61', 'ua', 'web', log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_organisation;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', true, '203.0.113.62', 'ua', 'web', log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_ip;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', true, NULL, 'ua', 'web', log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS dropped_ip;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', true, '203.0.113.61', 'ua2', 'web', log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_user_agent;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', true, '203.0.113.61', 'ua', 'sso', log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_auth_path;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', true, '203.0.113.61', 'ua', 'web', '{"k": 1}', '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_metadata;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', true, '203.0.113.61', 'ua', 'web', occurred_at => now(), log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_occurred_at;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'olga', true, '203.0.113.61', 'ua', 'web', log_id => '00000000-0000-4000-8000-0000000e0010')$$), ':', 1) AS changed_user_id;
-- nothing was written, not even a retry count
SELECT b.events = s.events AS same_events, b.retries = s.retries AS same_retries, b.accounts = s.accounts AS same_accounts, s.accounts
FROM before_replays b, mismatch_state s;
-- the same call again is a retry: the recorded decision, one more retry_count
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'omar', true, '203.0.113.61', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000e0010');
SELECT retry_count FROM authlog.auth_logs WHERE tenant_id = 't-mismatch' AND log_id = '00000000-0000-4000-8000-0000000e0010';

-- fifty guesses under one failed attempt's log_id: the first counts, the others are refused
SELECT decision, failed_login_attempts FROM authlog.record_login('t-mismatch', 'o1', 'pia', false, '198.51.100.2', 'bot', 'web',
       log_id => '00000000-0000-4000-8000-0000000e0020');
SELECT count(*) FILTER (WHERE r LIKE 'LA001:%') AS refused, count(*) AS guesses
FROM generate_series(1, 50) n,
     LATERAL try(format($$SELECT authlog.record_login('t-mismatch', 'o1', 'pia', false, '198.51.100.%s', 'bot', 'web',
                 log_id => '00000000-0000-4000-8000-0000000e0020')$$, 2 + n)) r;
SELECT failed_login_attempts FROM authlog.account_lockouts WHERE tenant_id = 't-mismatch' AND user_id = 'pia';

-- a user agent is matched as sent, not as stored: two long ones that share the stored prefix differ
SET authlog.max_user_agent_length = 16;
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'quinn', true, NULL, repeat('a', 40), 'web',
       log_id => '00000000-0000-4000-8000-0000000e0030');
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'quinn', true, NULL, repeat('a', 39) || 'b', 'web',
           log_id => '00000000-0000-4000-8000-0000000e0030')$$), ':', 1) AS changed_agent;
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'quinn', true, NULL, repeat('a', 40), 'web',
       log_id => '00000000-0000-4000-8000-0000000e0030');
RESET authlog.max_user_agent_length;

-- occurred_at, when the caller gave one, is part of the call
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'rita', true, NULL, NULL, 'web',
       occurred_at => '2026-03-01 12:00+00', log_id => '00000000-0000-4000-8000-0000000e0040');
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'rita', true, NULL, NULL, 'web',
       occurred_at => '2026-03-01 13:00+01', log_id => '00000000-0000-4000-8000-0000000e0040') AS same_instant;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'rita', true, NULL, NULL, 'web',
           occurred_at => '2026-03-01 12:00:01+00', log_id => '00000000-0000-4000-8000-0000000e0040')$$), ':', 1) AS changed_time;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'rita', true, NULL, NULL, 'web',
           log_id => '00000000-0000-4000-8000-0000000e0040')$$), ':', 1) AS dropped_time;

-- a help-desk reset's log_id is matched the same way
SELECT authlog.reset_lockout('t-mismatch', 'o1', 'omar', 'helpdesk:ann', 'called in', '00000000-0000-4000-8000-0000000e0050') IS NOT NULL AS reset;
SELECT authlog.reset_lockout('t-mismatch', 'o1', 'omar', 'helpdesk:ann', 'called in', '00000000-0000-4000-8000-0000000e0050') IS NOT NULL AS retried;
SELECT split_part(try($$SELECT authlog.reset_lockout('t-mismatch', 'o1', 'omar', 'helpdesk:bob', 'called in', '00000000-0000-4000-8000-0000000e0050')$$), ':', 1) AS changed_actor;
SELECT split_part(try($$SELECT authlog.reset_lockout('t-mismatch', 'o1', 'omar', 'helpdesk:ann', 'another note', '00000000-0000-4000-8000-0000000e0050')$$), ':', 1) AS changed_note;
SELECT split_part(try($$SELECT authlog.record_login('t-mismatch', 'o1', 'omar', true, NULL, NULL, 'web', log_id => '00000000-0000-4000-8000-0000000e0050')$$), ':', 1) AS as_a_login;

-- derived ids: time-ordered, random, not the UUID v5 of the trigger a caller can compute ...
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
SELECT d.decision FROM generate_series(1, 2) n,
       LATERAL authlog.record_login('t-mismatch', 'o1', 'sam', false, NULL, left(n::text, 0), 'web') d;
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'sam', false, NULL, NULL, 'web',
       log_id => '00000000-0000-4000-8000-0000000e0060');
SELECT substr(l.log_id::text, 15, 1) AS version,
       l.log_id <> uuid_generate_v5('00000000-0000-4000-8000-0000000e0060', 'account_locked') AS not_v5
FROM authlog.auth_logs l
WHERE l.tenant_id = 't-mismatch' AND l.user_id = 'sam' AND l.event_type = 'account_locked';
-- ... so spending the id a v5 derivation would give, before the lock, blocks nothing
SELECT decision FROM authlog.record_login('t-mismatch', 'o1', 'tom', false, NULL, NULL, 'web',
       log_id => uuid_generate_v5('00000000-0000-4000-8000-0000000e0070', 'account_locked'));
SELECT d.decision FROM generate_series(1, 2) n,
       LATERAL authlog.record_login('t-mismatch', 'o1', 'uma', false, NULL, left(n::text, 0), 'web') d;
SELECT decision, failed_login_attempts FROM authlog.record_login('t-mismatch', 'o1', 'uma', false, NULL, NULL, 'web',
       log_id => '00000000-0000-4000-8000-0000000e0070');
SELECT count(*) AS uma_locked_events FROM authlog.auth_logs
WHERE tenant_id = 't-mismatch' AND user_id = 'uma' AND event_type = 'account_locked';
DROP EXTENSION "uuid-ossp";
RESET authlog.max_failed_attempts;
