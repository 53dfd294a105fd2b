-- Seals: what a seal digests is what doc/seals.md documents, verify_seals names every kind of tampering, and seals are append-only evidence that readers see for their tenant only.
-- The sealer works in authlog.database, not in this database: here seals are built by hand, by the documented recipe, and test/t/110_seals.pl tests the sealer itself.
SET timezone = 'UTC';
SET authlog.max_clock_skew = '5min';

\i test/fixtures/seal_by_hand.sql

CREATE FUNCTION pg_temp.event_id(n integer) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$ SELECT ('00000000-0000-4000-8000-5ea1' || lpad(n::text, 8, '0'))::uuid $$;

-- Six events of tenant t-seal, and one of t-other, at fixed times
SELECT count(*) FROM (
	SELECT authlog.record_login('t-seal', 'o' || (n % 3 % 2), 'user' || (n % 3), n % 3 = 0,
	                            ('192.0.2.' || n)::inet, 'ua', 'web', '{"k": 1.50}', pg_temp.event_id(n),
	                            timestamptz '2026-01-01 10:00' + n * interval '1 minute')
	FROM generate_series(1, 6) n) calls;
SELECT count(*) FROM authlog.record_login('t-other', 'o1', 'user1', false, '192.0.2.1', 'ua', 'web',
                                          '{}', pg_temp.event_id(100), '2026-01-01 10:00');

SELECT pg_temp.seal_by_hand('t-seal', ARRAY[pg_temp.event_id(1), pg_temp.event_id(2), pg_temp.event_id(3)], '2026-01-01 10:05');
SELECT pg_temp.seal_by_hand('t-seal', ARRAY[pg_temp.event_id(4), pg_temp.event_id(5), pg_temp.event_id(6)], '2026-01-01 10:10');
SELECT pg_temp.seal_by_hand('t-other', ARRAY[pg_temp.event_id(100)], '2026-01-01 10:05');

-- seal_digest() is doc/seals.md's recipe, and each seal chains to the one before
SELECT tenant_id, seal_no, authlog.seal_digest(s) = pg_temp.documented_digest(s) AS documented,
       previous_digest IS NULL AS first,
       previous_digest = lag(digest) OVER (PARTITION BY tenant_id ORDER BY seal_no) AS chained
FROM authlog.seals s ORDER BY tenant_id, seal_no;

-- event_digest: a SHA-256 that any column but retry_count changes
SELECT octet_length(authlog.event_digest(l)) AS bytes,
       authlog.event_digest(l) = authlog.event_digest(jsonb_populate_record(l, '{"retry_count": 7}')) AS ignores_retry_count,
       authlog.event_digest(l) <> authlog.event_digest(jsonb_populate_record(l, '{"user_agent": "ub"}')) AS covers_user_agent
FROM authlog.auth_logs l WHERE log_id = pg_temp.event_id(1);

-- an untouched trail verifies, retries included (they add to retry_count only)
SELECT count(*) FROM authlog.record_login('t-seal', 'o1', 'user1', false, '192.0.2.1', 'ua', 'web',
                                          '{"k": 1.50}', pg_temp.event_id(1), '2026-01-01 10:01');
SELECT retry_count FROM authlog.auth_logs WHERE log_id = pg_temp.event_id(1);
SELECT tenant_id, seal_no, event_count, status, log_id, detail FROM authlog.verify_seals();
SELECT tenant_id, seal_no, status FROM authlog.verify_seals('t-seal', '2026-01-01 10:06');

-- seals are append-only, for superusers too
\set VERBOSITY default
UPDATE authlog.seals SET event_count = 0 WHERE tenant_id = 't-seal';
DELETE FROM authlog.seals WHERE tenant_id = 't-seal';
TRUNCATE authlog.seals;
DELETE FROM authlog.seal_members;
\set VERBOSITY terse

-- Tampering as a superuser who bypasses the triggers: each kind is detected and named
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE authlog.auth_logs SET ip_address = '203.0.113.66' WHERE log_id = pg_temp.event_id(2);
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE authlog.auth_logs SET metadata = '{"k": 2}' WHERE log_id = pg_temp.event_id(5);
SELECT seal_no, status, log_id FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
-- a number written another way is the same value, for jsonb's equality and for the seal
UPDATE authlog.auth_logs SET metadata = '{"k": 1.5}' WHERE log_id = pg_temp.event_id(5);
SELECT seal_no, status, log_id FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM authlog.auth_logs WHERE log_id = pg_temp.event_id(4);
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

-- a forged row inside the sealed period that no seal lists
BEGIN;
INSERT INTO authlog.auth_logs
SELECT tenant_id, pg_temp.event_id(66), organisation_id, user_id, event_type, ip_address, user_agent,
       auth_path, occurred_at, recorded_at, metadata, reason, actor, decision, failed_login_attempts,
       account_locked_until, 0
FROM authlog.auth_logs WHERE log_id = pg_temp.event_id(3);
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
-- once sealed, it claims a time more than max_clock_skew before the seal before its own
SELECT pg_temp.seal_by_hand('t-seal', ARRAY[pg_temp.event_id(66)], '2026-01-01 10:20');
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
-- within the skew it is not back-dated
SET LOCAL authlog.max_clock_skew = '30min';
SELECT seal_no, status FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

-- a seal edited, even with its own digest recomputed, breaks the chain
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE authlog.seals SET event_count = 2 WHERE tenant_id = 't-seal' AND seal_no = 1;
SELECT seal_no, status, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
UPDATE authlog.seals s SET members = members[1:2], member_digests = substr(member_digests, 1, 64)
WHERE tenant_id = 't-seal' AND seal_no = 1;
UPDATE authlog.seals s SET digest = pg_temp.documented_digest(s) WHERE tenant_id = 't-seal' AND seal_no = 1;
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

-- a seal deleted: a gap in the chain, and its events sealed by no seal
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM authlog.seals WHERE tenant_id = 't-seal' AND seal_no = 1;
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

-- a seal that lists an event another seal lists already
BEGIN;
SELECT pg_temp.seal_by_hand('t-seal', ARRAY[pg_temp.event_id(1)], '2026-01-01 10:15', index_members => false);
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

-- the newest seal deleted: no gap, but the sealer's record names the seal its events were in
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM authlog.seals WHERE tenant_id = 't-seal' AND seal_no = 2;
SELECT seal_no, status, log_id, detail FROM authlog.verify_seals('t-seal') WHERE status <> 'ok';
ROLLBACK;

-- the trail is intact again
SELECT tenant_id, seal_no, status FROM authlog.verify_seals();

-- readers: a tenant's reader sees its seals and verifies them; an organisation's reader sees none; neither sees another tenant's
CREATE ROLE regress_seal_tenant;
CREATE ROLE regress_seal_org;
SELECT authlog.grant_reader('regress_seal_tenant', 't-seal');
SELECT authlog.grant_reader('regress_seal_org', 't-seal', 'o1');
SET ROLE regress_seal_tenant;
SELECT try($$SELECT count(*) FROM authlog.seals$$);
SELECT tenant_id, seal_no, status FROM authlog.verify_seals();
SELECT seq, log_id, seal_no, seal IS NOT NULL AS seal_included,
       event_digest = encode(substr(decode(substr(seal->>'member_digests', 3), 'hex'), 1, 32), 'hex') AS first_member
FROM authlog.export_events('t-seal', '2026-01-01', '2026-01-02')
WHERE seal IS NOT NULL;
SELECT try($$SELECT * FROM authlog.verify_store_seals()$$);
RESET ROLE;
SET ROLE regress_seal_org;
SELECT count(*) FROM authlog.verify_seals('t-seal');
SELECT seq, seal_no, seal FROM authlog.export_events('t-seal', '2026-01-01', '2026-01-02');
RESET ROLE;

-- the sealer seals the database the workers use, and says so elsewhere
SELECT try($$SELECT authlog.seal_now('1s')$$);

SELECT authlog.revoke_reader('regress_seal_tenant');
SELECT authlog.revoke_reader('regress_seal_org');
DROP ROLE regress_seal_tenant;
DROP ROLE regress_seal_org;
