-- Functions of an event row --------------------------------------------------
-- In a piece of their own: they take auth_logs' row type, which the 1.0 -> 1.1
-- update makes anew (auth_logs becomes partitioned), so it creates them from
-- here again.

CREATE FUNCTION authlog.event_digest(event authlog.auth_logs) RETURNS bytea
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_event_digest';
COMMENT ON FUNCTION authlog.event_digest(authlog.auth_logs) IS
	'SHA-256 of the event''s document in the store (BSON, as the output plugin writes it) without retry_count: what a seal records per member, computable from either store.';

-- The canonical text of an event: what export_events digests (and what a
-- verifier recomputes).  Every column but retry_count, which is bookkeeping;
-- timestamps in UTC to the microsecond, so no session setting changes it.
CREATE FUNCTION authlog.event_canonical(event authlog.auth_logs) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.jsonb_build_array(
	event.tenant_id, event.log_id, event.organisation_id, event.user_id, event.event_type,
	event.ip_address, event.user_agent, event.auth_path,
	pg_catalog.to_char(event.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
	pg_catalog.to_char(event.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
	event.metadata, event.reason, event.actor, event.decision, event.failed_login_attempts,
	pg_catalog.to_char(event.account_locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
)::text;
COMMENT ON FUNCTION authlog.event_canonical(authlog.auth_logs) IS
	'The canonical text of an event that export_events digests: a JSON array of every column but retry_count, in table order, timestamps in UTC to the microsecond.';
