-- authlog demo: a brute-force and credential-stuffing campaign against tenant
-- "acme", replayed through record_login exactly as the auth service calls it.
\pset footer off
\set QUIET on
\o /dev/null
-- (authlog is installed, and authlog-api trusted, by test/demo_gateway.sql)
-- the mirror has created its slot and is streaming before the campaign starts
SELECT authlog.mirror_sync('60s');
SELECT now() - interval '1 hour' AS since, now() + interval '1 hour' AS until \gset
CREATE ROLE acme_security_team;
SELECT authlog.grant_reader('acme_security_team', 'acme');
CREATE ROLE globex_analyst;
SELECT authlog.grant_reader('globex_analyst', 'globex');
\o

-- the security dashboard listens for lockouts; the campaign prints nothing,
-- so what psql prints now is what arrives
\echo
\echo '== The campaign runs. Lockouts the mirror worker announces (NOTIFY authlog_lockout, payload: the log_id):'
LISTEN authlog_lockout;
\ir demo_campaign.sql
RESET ROLE;
SELECT authlog.mirror_sync('60s') AS applied \gset

\echo
\echo '== The auth service saw these decisions for the CFO account (locked at the 5th failure):'
SELECT row_number() OVER (ORDER BY recorded_at, event_type) AS "#",
       event_type, decision, reason, failed_login_attempts AS failures,
       to_char(account_locked_until - recorded_at, 'MI:SS') AS lock_remaining, ip_address, actor
FROM authlog.auth_logs WHERE tenant_id = 'acme' AND user_id = 'cfo'
ORDER BY recorded_at, event_type;

SET ROLE globex_analyst;
\echo
\echo '== What a globex analyst sees of acme (nothing):'
SELECT count(*) AS acme_events_visible FROM authlog.incident_timeline('acme', :'since', :'until');
SELECT count(*) AS acme_accounts_from_targeted_accounts FROM authlog.targeted_accounts('acme', :'since', :'until');
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
SELECT state, lag_bytes, documents_written, documents_refused, lockouts_notified FROM authlog.mirror_status;

\echo
\echo '== Real-time counters (authlog.stat_events, from shared memory):'
SELECT tenant_id, organisation_id, event_type, events, last_minute, last_hour
FROM authlog.stat_events ORDER BY tenant_id, organisation_id, event_type;

SET ROLE acme_security_team;
\echo
\echo '======== Reconstruction of the campaign, as acme_security_team (the reader functions scope every answer) ========'
\echo
\echo '== authlog.targeted_accounts: who was attacked'
SELECT user_id, organisation_id, failures, refused_by_lock, distinct_ips, lockouts, success_after_failures
FROM authlog.targeted_accounts('acme', :'since', :'until') LIMIT 8;

\echo
\echo '== authlog.attacking_ips: from where (per address, and per /24 network of several)'
SELECT kind, source, addresses, failures, accounts_tried, successes, lockouts_caused
FROM authlog.attacking_ips('acme', :'since', :'until', min_failures => 5);

\echo
\echo '== authlog.success_after_failures: the likely compromises'
SELECT user_id, success_ip, failures, failure_ips, from_failing_ip
FROM authlog.success_after_failures('acme', :'since', :'until');

\echo
\echo '== authlog.incident_timeline: the CFO account, event by event'
SELECT to_char(occurred_at, 'HH24:MI:SS.MS') AS at, event_type, ip_address, decision, reason, actor,
       failed_login_attempts AS failures, locked
FROM authlog.incident_timeline('acme', :'since', :'until', 'cfo');

\echo
\echo '== authlog.lockout_trace: the failures behind the CFO''s last lockout (lifted by the help desk since)'
SELECT attempt, ip_address, user_agent, auth_path, decision, lock_in_force
FROM authlog.lockout_trace('acme', 'cfo');

\echo
\echo '== authlog.compliance_report: audit evidence per day and event type (event_type empty: the whole day)'
SELECT day, event_type, events, users, ip_addresses, lockouts, resets, reset_by
FROM authlog.compliance_report('acme', :'since', :'until');

\echo
\echo '== authlog.export_events: the evidence package, each row with the SHA-256 chained over the export so far'
SELECT count(*) AS events_exported, (array_agg(digest ORDER BY seq DESC))[1] AS final_digest
FROM authlog.export_events('acme', :'since', :'until');
RESET ROLE;

\echo
\echo '== seals: every event sealed per tenant, chained; verified from PostgreSQL and from the store''s copy'
SELECT authlog.seal_now('60s') IS NOT NULL AS sealed_now;
SELECT authlog.mirror_sync('60s') IS NOT NULL AS mirrored;
SELECT tenant_id, count(*) AS seals, sum(event_count) AS events,
       encode((array_agg(digest ORDER BY seal_no DESC))[1], 'hex') AS latest_digest
FROM authlog.seals GROUP BY tenant_id ORDER BY tenant_id;
SELECT 'postgresql' AS copy, status, count(*) FROM authlog.verify_seals() GROUP BY status
UNION ALL
SELECT 'document store', status, count(*) FROM authlog.verify_store_seals() GROUP BY status;

\echo
\echo '== a superuser rewrites one event''s IP behind the triggers (then rolls back): verify_seals names the event'
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE authlog.auth_logs SET ip_address = '10.0.0.1'
WHERE log_id = (SELECT log_id FROM authlog.auth_logs WHERE tenant_id = 'acme' AND user_id = 'cfo'
                ORDER BY occurred_at LIMIT 1);
SELECT tenant_id, seal_no, status, log_id, detail FROM authlog.verify_seals('acme') WHERE status <> 'ok';
ROLLBACK;
