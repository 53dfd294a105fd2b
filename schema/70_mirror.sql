-- The mirror's document rules ---------------------------------------------------

CREATE FUNCTION authlog.jsonb_to_bson(value jsonb) RETURNS bytea
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_jsonb_to_bson';
COMMENT ON FUNCTION authlog.jsonb_to_bson(jsonb) IS
	'The BSON document the mirror stores for a JSON object (a non-object is wrapped as {"value": ...}): exact numbers, escaped keys, wrapped nested arrays.';

CREATE FUNCTION authlog.bson_to_json(document bytea) RETURNS jsonb
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_bson_to_json';
COMMENT ON FUNCTION authlog.bson_to_json(bytea) IS
	'A BSON document, such as a change message of the authlog output plugin, as MongoDB canonical Extended JSON; invalid input is an error, never a truncated result.';

-- The mirror -----------------------------------------------------------------

CREATE TABLE authlog.worker_slots (
	slot_name text PRIMARY KEY,
	resync_pending boolean NOT NULL,
	resynced_at timestamptz
);
COMMENT ON TABLE authlog.worker_slots IS
	'The workers'' durable state per slot: a resync (copy of the tables to the store) pending for the mirror''s slot, or a backlog (rows its slot never decoded) pending for the sealer''s, survives a crash and is finished first.';

CREATE FUNCTION authlog.mirror_worker_status(
	OUT slot_name text, OUT state text, OUT pid integer, OUT confirmed_lsn pg_lsn,
	OUT caught_up boolean, OUT applied_commit_time timestamptz,
	OUT documents_written bigint, OUT documents_refused bigint, OUT batches bigint,
	OUT last_error text, OUT last_error_at timestamptz,
	OUT lockouts_notified bigint, OUT notifications_failed bigint)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_mirror_worker_status';
COMMENT ON FUNCTION authlog.mirror_worker_status() IS
	'What the mirror worker reports through shared memory; read authlog.mirror_status instead.';

CREATE VIEW authlog.mirror_status AS
	SELECT w.slot_name,
	       w.state,
	       s.confirmed_flush_lsn AS confirmed_lsn,
	       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint AS lag_bytes,
	       CASE WHEN w.caught_up OR w.applied_commit_time IS NULL THEN 0
	            ELSE extract(epoch FROM pg_catalog.now() OPERATOR(pg_catalog.-) w.applied_commit_time)
	       END::float8 AS lag_seconds,
	       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn)::bigint AS retained_wal_bytes,
	       w.documents_written,
	       w.documents_refused,
	       w.batches,
	       w.lockouts_notified,
	       w.notifications_failed,
	       w.last_error,
	       w.last_error_at,
	       w.pid,
	       s.wal_status,
	       h.held_by AS held_back_by,
	       h.since AS held_back_since
	FROM authlog.mirror_worker_status() w
	LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name OPERATOR(pg_catalog.=) w.slot_name
	LEFT JOIN LATERAL (SELECT b.held_by, b.since FROM authlog.held_back b
	                   WHERE b.holds OPERATOR(pg_catalog.=) 'wal' ORDER BY b.xid_age DESC LIMIT 1) h ON true;
COMMENT ON VIEW authlog.mirror_status IS
	'One row: the mirror''s state (streaming, backing_off, resyncing, disabled), how far the store lags, WAL the slot retains, documents written and refused, lockouts announced with NOTIFY authlog_lockout (and any that could not be), the last error, and (1.1) the oldest transaction holding the slot back (see authlog.held_back).';

CREATE FUNCTION authlog.mirror_sync(timeout interval DEFAULT '30s') RETURNS bigint
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'authlog_mirror_sync';
COMMENT ON FUNCTION authlog.mirror_sync(interval) IS
	'Waits until everything committed before the call is acknowledged by the document store; returns the documents applied meanwhile, or raises an error naming what held the mirror back.';

CREATE FUNCTION authlog.mirror_verify(tenant_id text DEFAULT NULL)
RETURNS TABLE (tenant_id text, collection text, document_id jsonb, problem text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_mirror_verify';
COMMENT ON FUNCTION authlog.mirror_verify(text) IS
	'Compares every row of auth_logs, account_lockouts and seals (of one tenant, or all) with its document in the store; one row per difference, none when consistent.';

CREATE FUNCTION authlog.mirror_find(collection text, filter jsonb DEFAULT '{}')
RETURNS SETOF jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_mirror_find';
COMMENT ON FUNCTION authlog.mirror_find(text, jsonb) IS
	'Documents of a collection of the store (auth_logs, account_lockouts, dead_letters) matching a MongoDB Extended JSON filter, as canonical Extended JSON.';
