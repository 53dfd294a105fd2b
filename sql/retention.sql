-- Retention and legal hold: events leave only whole from sealed seals, with a sealed record naming them, never under a hold; the verifier tells retired from deleted.
-- The sealer works in authlog.database, not here: seals are written by hand (as in seals.sql); test/t/280_retention.pl runs the workers and the store.
SET timezone = 'UTC';
SET authlog.max_clock_skew = '5min';

CREATE FUNCTION pg_temp.event_id(n integer) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$ SELECT ('00000000-0000-4000-8000-7e7a' || lpad(n::text, 8, '0'))::uuid $$;

\i test/fixtures/seal_by_hand.sql

-- Events recorded long ago: their recorded_at moved back (past the triggers), before they are sealed
CREATE FUNCTION pg_temp.recorded_ago(ids uuid[], ago interval) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	SET LOCAL session_replication_role = replica;
	UPDATE authlog.auth_logs SET recorded_at = recorded_at - ago WHERE log_id = ANY (ids);
	UPDATE authlog.event_ids SET recorded_at = recorded_at - ago WHERE log_id = ANY (ids);
	SET LOCAL session_replication_role = origin;
END
$$;

-- Tenant t-ret: users a1..a4 in a seal closed two years ago, b1 and b2 in one closed yesterday;
-- tenant t-keep has no retention and an old seal too.
SELECT count(*) FROM (
	SELECT authlog.record_login('t-ret', 'org1', u, true, '192.0.2.1', 'ua', 'web', '{}', pg_temp.event_id(n::int))
	FROM unnest(ARRAY['a1', 'a2', 'a3', 'a4', 'b1', 'b2']) WITH ORDINALITY AS x(u, n)) calls;
SELECT count(*) FROM authlog.record_login('t-keep', 'org1', 'k1', true, '192.0.2.1', 'ua', 'web', '{}', pg_temp.event_id(100));
SELECT pg_temp.recorded_ago(ARRAY[pg_temp.event_id(1), pg_temp.event_id(2), pg_temp.event_id(3), pg_temp.event_id(4)], '2 years');
SELECT pg_temp.recorded_ago(ARRAY[pg_temp.event_id(5), pg_temp.event_id(6)], '1 day');
SELECT pg_temp.recorded_ago(ARRAY[pg_temp.event_id(100)], '5 years');
SELECT pg_temp.seal_by_hand('t-ret', ARRAY[pg_temp.event_id(1), pg_temp.event_id(2), pg_temp.event_id(3), pg_temp.event_id(4)],
                            now() - interval '2 years');
SELECT pg_temp.seal_by_hand('t-ret', ARRAY[pg_temp.event_id(5), pg_temp.event_id(6)], now() - interval '1 day');
SELECT pg_temp.seal_by_hand('t-keep', ARRAY[pg_temp.event_id(100)], now() - interval '5 years');

-- Nothing is retired by default: no retention is set, and the default is "for ever"
SHOW authlog.default_retention;
SELECT * FROM authlog.retention_batch();
SELECT tenant_id, keep, holds_in_force, run_in_progress, last_result FROM authlog.retention_status
WHERE tenant_id IN ('t-keep', 't-ret') ORDER BY 1;

-- Bad input is refused, and writes nothing
\set VERBOSITY default
SELECT authlog.set_retention('t-ret', interval '-1 year', 'records officer');
SELECT authlog.set_retention('t-ret', interval '1 year', '');
SELECT authlog.place_hold('t-ret', now() - interval '3 years', NULL, NULL, 'legal');
SELECT authlog.place_hold('t-ret', '2026-01-02', '2026-01-01', 'CASE-0', 'legal');
\set VERBOSITY sqlstate
SELECT authlog.release_hold(gen_random_uuid(), 'legal', 'closed');
\set VERBOSITY default
SELECT * FROM authlog.retention_batch(0);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM authlog.retention_batch();
ROLLBACK;
SET authlog.default_retention = 'soon';
SET authlog.default_retention = '-1 day';
\set VERBOSITY terse
SELECT count(*) AS records_written FROM authlog.records_log;

-- Events are append-only still: only retention removes them
DELETE FROM authlog.auth_logs WHERE tenant_id = 't-ret';

-- A legal hold on user a2 (as its tenant's rule names the account), then a year's retention
SELECT authlog.place_hold('t-ret', now() - interval '3 years', NULL, 'CASE-1', 'legal counsel', user_id => 'a2') IS NOT NULL AS placed;
SELECT tenant_id, organisation_id, user_id, until, case_ref, placed_by FROM authlog.legal_holds;
SELECT authlog.set_retention('t-ret', interval '1 year', 'records officer') IS NOT NULL AS set;
SELECT tenant_id, keep FROM authlog.records_log WHERE action = 'retention_set';
SELECT authlog.tenant_retention('t-ret') AS t_ret, authlog.tenant_retention('t-keep') AS t_keep;

-- Batches are bounded: two events, then the rest of the pass; the held event and the young seal stay
SELECT * FROM authlog.retention_batch(2);
SELECT tenant_id, run_in_progress FROM authlog.retention_status WHERE tenant_id = 't-ret';
SELECT * FROM authlog.retention_batch(100);
SELECT user_id FROM authlog.auth_logs WHERE tenant_id = 't-ret' ORDER BY user_id;
SELECT count(*) AS t_keep_events FROM authlog.auth_logs WHERE tenant_id = 't-keep';
-- A retired event leaves no position behind (event_ids holds them): a stream from the start reads what is left
SELECT count(*) AS positions_left FROM authlog.event_ids WHERE tenant_id = 't-ret';
SELECT user_id FROM authlog.poll_events('t-ret', NULL);

-- Each removal is a record: the seal, the members in the seal's order, what the seal still has
SELECT r.seal_no, array_agg(l.user_id ORDER BY u.n) AS retired, r.kept, r.actor, r.role_name = session_user AS by_session,
       r.reason
FROM authlog.records_log r CROSS JOIN LATERAL unnest(r.retired) WITH ORDINALITY AS u(id, n)
JOIN (SELECT pg_temp.event_id(n::int) AS id, u AS user_id
      FROM unnest(ARRAY['a1', 'a2', 'a3', 'a4']) WITH ORDINALITY AS x(u, n)) l ON l.id = u.id
WHERE r.action = 'retired'
GROUP BY r.record_id, r.seal_no, r.kept, r.actor, r.role_name, r.reason ORDER BY r.record_id;
SELECT tenant_id, keep, oldest_kept_at IS NOT NULL AS has_events, holds_in_force, run_in_progress,
       regexp_replace(last_result, 'before [^(]*', 'before <cutoff> ') AS last_result
FROM authlog.retention_status WHERE tenant_id IN ('t-keep', 't-ret') ORDER BY 1;

-- The verifier: the retired members are retired, with the record that retired them; the seals are intact
SELECT tenant_id, seal_no, status, log_id,
       regexp_replace(detail, 'record [0-9a-f-]+ at [^U]*UTC', 'record <id> at <time>') AS detail
FROM authlog.verify_seals() WHERE tenant_id IN ('t-keep', 't-ret');

-- A deletion without a record is still tampering, beside the retired ones
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM authlog.auth_logs WHERE log_id = pg_temp.event_id(2);
DELETE FROM authlog.auth_logs WHERE log_id = pg_temp.event_id(5);
SELECT seal_no, status, log_id FROM authlog.verify_seals('t-ret') WHERE status <> 'ok' ORDER BY seal_no, status;
ROLLBACK;

-- A record that names a member of another seal retires nothing there
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM authlog.auth_logs WHERE log_id = pg_temp.event_id(6);
INSERT INTO authlog.records_log (tenant_id, record_id, recorded_at, action, actor, role_name, seal_no, retired, kept)
VALUES ('t-ret', authlog.new_record_id(), now(), 'retired', 'forger', 'x', 1, ARRAY[pg_temp.event_id(6)], 0);
SELECT seal_no, status, log_id FROM authlog.verify_seals('t-ret') WHERE status NOT IN ('ok', 'retired');
ROLLBACK;

-- Records are evidence: append-only
UPDATE authlog.records_log SET actor = 'someone else';
DELETE FROM authlog.records_log;

-- Released, the hold keeps nothing: the next pass retires a2
SELECT authlog.release_hold(hold_id, 'legal counsel', 'case closed') FROM authlog.legal_holds;
SELECT count(*) AS holds FROM authlog.legal_holds;
\set VERBOSITY sqlstate
SELECT authlog.release_hold(hold_id, 'legal counsel', 'again') FROM authlog.records_log WHERE action = 'hold_placed';
\set VERBOSITY terse
CALL authlog.run_retention();
SELECT user_id FROM authlog.auth_logs WHERE tenant_id = 't-ret' ORDER BY user_id;
SELECT seal_no, kept FROM authlog.records_log WHERE action = 'retired' ORDER BY record_id;
SELECT seal_no, status FROM authlog.verify_seals('t-ret');
-- a wholly retired seal is not read again
SELECT * FROM authlog.retention_batch();

-- A hold by organisation and time window: only what it covers is kept
SELECT count(*) FROM (
	SELECT authlog.record_login('t-ret', o, u, true, '192.0.2.1', 'ua', 'web', '{}', pg_temp.event_id(n), now() - interval '30 days')
	FROM (VALUES (10, 'org1', 'c1'), (11, 'org2', 'c2'), (12, 'org2', 'c3')) AS x(n, o, u)) calls;
SELECT pg_temp.recorded_ago(ARRAY[pg_temp.event_id(10), pg_temp.event_id(11), pg_temp.event_id(12)], '20 days');
SELECT pg_temp.seal_by_hand('t-ret', ARRAY[pg_temp.event_id(10), pg_temp.event_id(11), pg_temp.event_id(12)],
                            now() - interval '20 days');
SELECT authlog.place_hold('t-ret', now() - interval '31 days', now() - interval '29 days', 'CASE-2', 'legal',
                          organisation_id => 'org2') IS NOT NULL AS placed;
SELECT authlog.set_retention('t-ret', interval '10 days', 'records officer') IS NOT NULL AS set;
CALL authlog.run_retention(1);
SELECT user_id FROM authlog.auth_logs WHERE tenant_id = 't-ret' AND log_id IN (pg_temp.event_id(10), pg_temp.event_id(11), pg_temp.event_id(12)) ORDER BY 1;

-- Back to the default, which is "for ever": nothing more goes
SELECT authlog.set_retention('t-ret', NULL, 'records officer') IS NOT NULL AS set;
SELECT authlog.tenant_retention('t-ret');
SET authlog.default_retention = '1 day';
SELECT authlog.tenant_retention('t-ret');
RESET authlog.default_retention;

-- Records managers: granted, a role may manage retention; it reads no events
CREATE ROLE retention_officer;
SET ROLE retention_officer;
SELECT authlog.place_hold('t-ret', now(), NULL, 'CASE-3', 'officer');
RESET ROLE;
SELECT authlog.grant_records_manager('retention_officer');
SET ROLE retention_officer;
SELECT authlog.place_hold('t-ret', now(), NULL, 'CASE-3', 'officer') IS NOT NULL AS placed;
SELECT count(*) AS holds FROM authlog.legal_holds;
SELECT count(*) FROM authlog.records_log;
SELECT authlog.retire_seal_members('t-ret', 1, now(), 10, 'me', 'why');
RESET ROLE;
SELECT authlog.revoke_records_manager('retention_officer');
SET ROLE retention_officer;
SELECT count(*) FROM authlog.legal_holds;
RESET ROLE;
DROP OWNED BY retention_officer;
DROP ROLE retention_officer;
