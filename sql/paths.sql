-- The web and mobile paths (and api, sso) produce identical records but for auth_path.
SET authlog.max_failed_attempts = 3;
SELECT p.path, d.decision
FROM (VALUES (1, 'web'::authlog.auth_path), (2, 'mobile'), (3, 'api'), (4, 'sso')) p(n, path),
     LATERAL (SELECT array_agg(x.decision ORDER BY s) AS decision
              FROM generate_series(1, 4) s,
                   LATERAL authlog.record_login('t-paths', 'o1', 'user-' || p.path, false,
                                                '2001:db8::1', 'Mozilla/5.0' || left(s::text, 0), p.path,
                                                '{"device": "x"}') x) d
ORDER BY p.n;
RESET authlog.max_failed_attempts;

-- every column but the ids, the path and the user is the same across paths
SELECT event_type, decision, reason, count(DISTINCT (event_type, ip_address, user_agent, metadata - 'authlog', reason, actor,
                       decision, failed_login_attempts,
                       CASE WHEN reason IS NULL THEN account_locked_until - recorded_at END)) AS distinct_records,
       count(DISTINCT auth_path) AS paths,
       count(*) AS rows
FROM authlog.auth_logs WHERE tenant_id = 't-paths'
GROUP BY event_type, failed_login_attempts, decision, reason
ORDER BY event_type, failed_login_attempts, decision, reason;
