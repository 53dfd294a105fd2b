-- authlog demo: a brute-force and credential-stuffing campaign against tenant
-- "acme", replayed through record_login exactly as the auth service calls it.
\pset footer off
\set QUIET on
\o /dev/null
CREATE EXTENSION authlog;
SELECT authlog.set_lockout_policy('acme', 5, '15 minutes', '15 minutes', 2, '4 hours');
CREATE ROLE acme_auth_service;
SELECT authlog.grant_service('acme_auth_service');
CREATE ROLE acme_security_team;
SELECT authlog.grant_reader('acme_security_team', 'acme');
CREATE ROLE globex_analyst;
SELECT authlog.grant_reader('globex_analyst', 'globex');

SET ROLE acme_auth_service;
-- benign traffic, both tenants, web and mobile
SELECT count(*) FROM (
	SELECT authlog.record_login(t, 'hq', 'employee' || n, true, ('10.0.0.' || n)::inet,
	                            'Mozilla/5.0', CASE WHEN n % 2 = 0 THEN 'web' ELSE 'mobile' END::authlog.auth_path)
	FROM generate_series(1, 20) n, unnest(ARRAY['acme', 'globex']) t) benign \gset
-- brute force: one IP hammers the CFO's account until it locks, and keeps going
-- (one transaction per attempt, as the auth service makes them)
DO $$
BEGIN
	FOR n IN 1..9 LOOP
		PERFORM authlog.record_login('acme', 'finance', 'cfo', false, '198.51.100.66',
		                             'python-requests/2.31', 'web', jsonb_build_object('attempt', n));
		COMMIT;
	END LOOP;
END
$$;
-- credential stuffing: a small botnet tries leaked passwords on many accounts
SELECT count(*) FROM (
	SELECT authlog.record_login('acme', 'hq', 'employee' || (n % 12 + 1), false,
	                            ('203.0.113.' || (n % 4 + 10))::inet, 'curl/8.4', 'api',
	                            jsonb_build_object('x.forwarded-for', '192.0.2.' || n))
	FROM generate_series(1, 36) n) stuffing \gset
-- ... and one leaked password works after three failures: a likely compromise
SELECT count(*) FROM (
	SELECT authlog.record_login('acme', 'hq', 'intern', n = 4, '203.0.113.10',
	                            'curl/8.4' || left(n::text, 0), 'api')
	FROM generate_series(1, 4) n) compromise \gset
-- the help desk unlocks the CFO after a phone call
SELECT authlog.reset_lockout('acme', 'finance', 'cfo', 'helpdesk:anna', 'ticket 4711: identity verified by phone') AS reset_id \gset
RESET ROLE;
\o

\echo
\echo '== The auth service saw these decisions for the CFO account (locked at the 5th failure):'
SELECT row_number() OVER (ORDER BY recorded_at, event_type) AS "#",
       event_type, decision, reason, failed_login_attempts AS failures,
       to_char(account_locked_until - recorded_at, 'MI:SS') AS lock_remaining, ip_address, actor
FROM authlog.auth_logs WHERE tenant_id = 'acme' AND user_id = 'cfo'
ORDER BY recorded_at, event_type;

SET ROLE acme_security_team;
\echo
\echo '== Targeted accounts (as acme_security_team, through row-level security):'
SELECT user_id, count(*) FILTER (WHERE event_type = 'login_failed') AS failures,
       count(DISTINCT ip_address) FILTER (WHERE event_type = 'login_failed') AS ips,
       count(*) FILTER (WHERE event_type = 'account_locked') AS lockouts,
       bool_or(event_type = 'login_success') FILTER (WHERE recorded_at >= (
           SELECT min(recorded_at) FROM authlog.auth_logs f
           WHERE f.tenant_id = l.tenant_id AND f.user_id = l.user_id AND f.event_type = 'login_failed')) AS success_after
FROM authlog.auth_logs l
WHERE tenant_id = 'acme'
GROUP BY tenant_id, user_id
HAVING count(*) FILTER (WHERE event_type = 'login_failed') > 0
ORDER BY failures DESC, user_id LIMIT 8;

\echo
\echo '== Attacking IPs: failures, accounts tried, successes:'
SELECT ip_address, count(*) FILTER (WHERE event_type = 'login_failed') AS failures,
       count(DISTINCT user_id) AS accounts, count(*) FILTER (WHERE event_type = 'login_success') AS successes
FROM authlog.auth_logs WHERE tenant_id = 'acme' AND ip_address IS NOT NULL
GROUP BY ip_address HAVING count(*) FILTER (WHERE event_type = 'login_failed') >= 3
ORDER BY failures DESC;

\echo
\echo '== Likely compromise: a success from an IP that failed on the same account:'
SELECT s.user_id, s.ip_address, count(f.*) AS failures_before
FROM authlog.auth_logs s
JOIN authlog.auth_logs f ON f.tenant_id = s.tenant_id AND f.user_id = s.user_id
     AND f.event_type = 'login_failed' AND f.ip_address = s.ip_address
WHERE s.tenant_id = 'acme' AND s.event_type = 'login_success'
GROUP BY 1, 2;

\echo
\echo '== Help-desk resets, with what they cleared (history is never deleted):'
SELECT user_id, actor, metadata -> 'authlog' ->> 'note' AS note,
       metadata -> 'authlog' -> 'cleared_failed_login_attempts' AS cleared_failures
FROM authlog.auth_logs WHERE tenant_id = 'acme' AND reason = 'admin';

\echo
\echo '== The CFO account now:'
SELECT * FROM authlog.lockout_status('acme', 'cfo');
RESET ROLE;

SET ROLE globex_analyst;
\echo
\echo '== What a globex analyst sees of acme (nothing):'
SELECT count(*) AS acme_rows_visible FROM authlog.auth_logs WHERE tenant_id = 'acme';
RESET ROLE;

\echo
\echo '== The mirror: every committed event, in the document store (FerretDB here)'
SELECT authlog.mirror_sync('60s') >= 0 AS store_caught_up \gset
SELECT (SELECT count(*) FROM authlog.auth_logs) AS events_in_postgresql,
       (SELECT count(*) FROM authlog.mirror_find('auth_logs')) AS documents_in_store,
       (SELECT count(*) FROM authlog.mirror_verify()) AS differences;
\echo
\echo '== The CFO lockout as the store holds it:'
SELECT d ->> 'event_type' AS event_type, d ->> 'ip_address' AS ip,
       d -> 'failed_login_attempts' ->> '$numberInt' AS failures,
       d -> 'account_locked_until' -> '$date' ->> '$numberLong' AS locked_until_ms,
       d -> 'log_id' -> '$binary' ->> 'subType' AS uuid_subtype
FROM authlog.mirror_find('auth_logs', '{"tenant_id": "acme", "user_id": "cfo", "event_type": "account_locked"}') d;
\echo
\echo '== Mirror status:'
SELECT state, lag_bytes, documents_written, documents_refused, batches FROM authlog.mirror_status;
