/* authlog--1.0.sql: the data model of authlog, read top to bottom */

\echo Use "CREATE EXTENSION authlog" to load this file. \quit

-- Types ------------------------------------------------------------------

CREATE TYPE authlog.event_type AS ENUM (
	'login_failed', 'account_locked', 'login_success', 'lockout_reset'
);
COMMENT ON TYPE authlog.event_type IS
	'What an auth_logs row records: an attempt (login_failed, login_success) or a change of lockout state (account_locked, lockout_reset).';

CREATE TYPE authlog.auth_path AS ENUM ('web', 'mobile', 'api', 'sso');
COMMENT ON TYPE authlog.auth_path IS
	'The authentication path an attempt came through; every path is judged and recorded the same way.';

CREATE TYPE authlog.login_decision AS (
	log_id uuid,
	decision text,
	failed_login_attempts integer,
	account_locked_until timestamptz
);
COMMENT ON TYPE authlog.login_decision IS
	'What record_login decided: allowed, failed or locked, with the lockout state after the attempt.';

-- Tables -----------------------------------------------------------------

CREATE TABLE authlog.auth_logs (
	tenant_id text NOT NULL,
	log_id uuid NOT NULL,
	organisation_id text NOT NULL,
	user_id text NOT NULL,
	event_type authlog.event_type NOT NULL,
	ip_address inet,
	user_agent text,
	auth_path authlog.auth_path,
	occurred_at timestamptz NOT NULL,
	recorded_at timestamptz NOT NULL,
	metadata jsonb NOT NULL,
	reason text,
	actor text,
	decision text,
	failed_login_attempts integer NOT NULL,
	account_locked_until timestamptz,
	retry_count integer NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, log_id)
);
COMMENT ON TABLE authlog.auth_logs IS
	'One row per authentication event, append-only: written only by record_login and reset_lockout. Each row carries the lockout state after the event.';
-- No CHECK constraints: the write functions validate every value before they
-- insert (ids of 1 to 256 characters, decision allowed/failed/locked), and a
-- CHECK would be re-parsed by every INSERT on the login path.
COMMENT ON COLUMN authlog.auth_logs.occurred_at IS
	'When the caller says the event happened; evidence only, never used to judge windows or locks.';
COMMENT ON COLUMN authlog.auth_logs.recorded_at IS
	'Transaction time of the write: the clock every lockout rule is measured with.';
COMMENT ON COLUMN authlog.auth_logs.metadata IS
	'The caller''s JSON object as given; the extension''s own notes live under the key "authlog".';
COMMENT ON COLUMN authlog.auth_logs.reason IS
	'account_locked for an attempt refused by a lock; login_success, expired or admin for a lockout_reset; NULL otherwise.';
COMMENT ON COLUMN authlog.auth_logs.decision IS
	'On attempt rows, what the caller was told: allowed, failed or locked. NULL on derived events.';
COMMENT ON COLUMN authlog.auth_logs.retry_count IS
	'How many times the same (tenant_id, log_id) was submitted again; bookkeeping, not evidence.';

CREATE INDEX auth_logs_user_time ON authlog.auth_logs (tenant_id, user_id, occurred_at);
CREATE INDEX auth_logs_ip_time ON authlog.auth_logs (tenant_id, ip_address, occurred_at);
CREATE INDEX auth_logs_event_time ON authlog.auth_logs (tenant_id, event_type, occurred_at);

CREATE TABLE authlog.account_lockouts (
	tenant_id text NOT NULL,
	user_id text NOT NULL,
	organisation_id text NOT NULL,
	failed_login_attempts integer NOT NULL DEFAULT 0,
	first_failed_at timestamptz,
	last_failed_at timestamptz,
	last_failed_ip inet,
	account_locked_until timestamptz,
	lockout_count integer NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, user_id)
);
COMMENT ON TABLE authlog.account_lockouts IS
	'Current lockout state per account; the row lock on it serialises concurrent attempts on one account.';
COMMENT ON COLUMN authlog.account_lockouts.first_failed_at IS
	'Start of the current series of failures; the failure window is measured from it.';
COMMENT ON COLUMN authlog.account_lockouts.lockout_count IS
	'Consecutive lockouts since the last success or admin reset; drives progressive lockout.';

CREATE TABLE authlog.lockout_policies (
	tenant_id text PRIMARY KEY,
	max_failed_attempts integer NOT NULL
		CHECK (max_failed_attempts BETWEEN 1 AND 100),
	failure_window interval NOT NULL,
	lockout_duration interval NOT NULL,
	backoff_factor numeric NOT NULL DEFAULT 1,
	max_lockout_duration interval,
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE authlog.lockout_policies IS
	'Per-tenant lockout policy; tenants without a row use the authlog.* GUC defaults.';

-- Backends cache policies; a change tells them all to drop the cache.
CREATE FUNCTION authlog.policy_changed() RETURNS trigger
	LANGUAGE c AS 'MODULE_PATHNAME', 'authlog_policy_changed';
COMMENT ON FUNCTION authlog.policy_changed() IS
	'Trigger that makes every backend drop its cache of lockout policies when they change.';
CREATE TRIGGER lockout_policies_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authlog.lockout_policies
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.policy_changed();

CREATE TABLE authlog.reader_grants (
	role regrole NOT NULL,
	tenant_id text NOT NULL,
	organisation_id text,
	granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE NULLS NOT DISTINCT (role, tenant_id, organisation_id)
);
COMMENT ON TABLE authlog.reader_grants IS
	'Which roles may read which tenant (organisation_id NULL: every organisation of it); maintained by grant_reader and revoke_reader.';

-- What the current role may read: owned by the extension, so it can read
-- reader_grants, while current_user remains the querying role.
CREATE VIEW authlog.reader_scope WITH (security_barrier) AS
	SELECT g.tenant_id, g.organisation_id
	FROM authlog.reader_grants g
	WHERE pg_catalog.pg_has_role(current_user, g.role::oid, 'USAGE');
COMMENT ON VIEW authlog.reader_scope IS
	'The tenants and organisations the current role may read; row-level security on the data tables is defined by it.';

-- Row-level security -------------------------------------------------------

ALTER TABLE authlog.auth_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.auth_logs FORCE ROW LEVEL SECURITY;
ALTER TABLE authlog.account_lockouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.account_lockouts FORCE ROW LEVEL SECURITY;

CREATE POLICY auth_logs_reader ON authlog.auth_logs FOR SELECT
	USING (EXISTS (SELECT 1 FROM authlog.reader_scope s
				   WHERE s.tenant_id OPERATOR(pg_catalog.=) auth_logs.tenant_id
				     AND (s.organisation_id IS NULL
						  OR s.organisation_id OPERATOR(pg_catalog.=) auth_logs.organisation_id)));

CREATE POLICY account_lockouts_reader ON authlog.account_lockouts FOR SELECT
	USING (EXISTS (SELECT 1 FROM authlog.reader_scope s
				   WHERE s.tenant_id OPERATOR(pg_catalog.=) account_lockouts.tenant_id
				     AND (s.organisation_id IS NULL
						  OR s.organisation_id OPERATOR(pg_catalog.=) account_lockouts.organisation_id)));

-- Append-only ----------------------------------------------------------------

CREATE FUNCTION authlog.forbid_log_rewrite() RETURNS trigger
	LANGUAGE c AS 'MODULE_PATHNAME', 'authlog_forbid_log_rewrite';
COMMENT ON FUNCTION authlog.forbid_log_rewrite() IS
	'Trigger keeping auth_logs append-only: only authlog''s own functions may update (retry bookkeeping) and nobody may delete or truncate.';

CREATE TRIGGER auth_logs_append_only
	BEFORE UPDATE OR DELETE ON authlog.auth_logs
	FOR EACH ROW EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER auth_logs_no_truncate
	BEFORE TRUNCATE ON authlog.auth_logs
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.forbid_log_rewrite();

-- The write path -------------------------------------------------------------

CREATE FUNCTION authlog.record_login(
	tenant_id text,
	organisation_id text,
	user_id text,
	success boolean,
	ip_address inet,
	user_agent text,
	auth_path authlog.auth_path,
	metadata jsonb DEFAULT '{}',
	log_id uuid DEFAULT NULL,
	occurred_at timestamptz DEFAULT pg_catalog.now())
RETURNS authlog.login_decision
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_record_login';
COMMENT ON FUNCTION authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz) IS
	'Records one login attempt and applies the tenant''s lockout policy in the same transaction; returns the decision the caller must obey. A repeated log_id returns the recorded decision.';

CREATE FUNCTION authlog.reset_lockout(
	tenant_id text,
	organisation_id text,
	user_id text,
	actor text,
	reason text DEFAULT NULL,
	log_id uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_reset_lockout';
COMMENT ON FUNCTION authlog.reset_lockout(text, text, text, text, text, uuid) IS
	'Help-desk unlock: clears the account''s failures and lock and records a lockout_reset event (reason admin) with the actor, the note and what was cleared.';

CREATE FUNCTION authlog.lockout_status(tenant_id text, user_id text)
RETURNS TABLE (failed_login_attempts integer, account_locked_until timestamptz, locked boolean)
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_lockout_status';
COMMENT ON FUNCTION authlog.lockout_status(text, text) IS
	'The account''s lockout state in force now (an unknown account: 0, NULL, false); no rows when the caller may not read the tenant.';

CREATE FUNCTION authlog.set_lockout_policy(
	tenant_id text,
	max_failed_attempts integer,
	failure_window interval,
	lockout_duration interval,
	backoff_factor numeric DEFAULT 1,
	max_lockout_duration interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF tenant_id IS NULL OR tenant_id OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'tenant_id must not be null or empty'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF max_failed_attempts IS NULL OR max_failed_attempts NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'max_failed_attempts must be between 1 and 100, not %', coalesce(max_failed_attempts::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'NIST SP 800-63B allows at most 100 consecutive failed attempts per account.';
	END IF;
	IF failure_window IS NULL OR failure_window OPERATOR(pg_catalog.<=) interval '0' THEN
		RAISE EXCEPTION 'failure_window must be a positive interval'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Failures are counted within this interval from the first failure of a series, e.g. ''15 minutes''.';
	END IF;
	IF lockout_duration IS NULL OR lockout_duration OPERATOR(pg_catalog.<=) interval '0' THEN
		RAISE EXCEPTION 'lockout_duration must be a positive interval'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'An account that reaches the threshold stays locked this long, e.g. ''15 minutes''.';
	END IF;
	IF backoff_factor IS NULL OR backoff_factor OPERATOR(pg_catalog.<) 1 OR backoff_factor OPERATOR(pg_catalog.>) 100 THEN
		RAISE EXCEPTION 'backoff_factor must be between 1 and 100, not %', coalesce(backoff_factor::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Each consecutive lockout lasts backoff_factor times longer than the one before; 1 disables progressive lockout.';
	END IF;
	IF failure_window OPERATOR(pg_catalog.>) interval '100 years'
	   OR lockout_duration OPERATOR(pg_catalog.>) interval '100 years'
	   OR max_lockout_duration OPERATOR(pg_catalog.>) interval '100 years' THEN
		RAISE EXCEPTION 'lockout intervals must not exceed 100 years'
			USING ERRCODE = 'interval_field_overflow',
				  HINT = 'Use a finite, realistic interval; lockouts are measured in minutes to days.';
	END IF;
	IF max_lockout_duration IS NOT NULL AND max_lockout_duration OPERATOR(pg_catalog.<) lockout_duration THEN
		RAISE EXCEPTION 'max_lockout_duration must not be shorter than lockout_duration'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL to cap lockouts at authlog.max_lockout_duration.';
	END IF;
	INSERT INTO authlog.lockout_policies AS p
		(tenant_id, max_failed_attempts, failure_window, lockout_duration, backoff_factor, max_lockout_duration, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.now())
	ON CONFLICT ON CONSTRAINT lockout_policies_pkey DO UPDATE SET
		max_failed_attempts = EXCLUDED.max_failed_attempts,
		failure_window = EXCLUDED.failure_window,
		lockout_duration = EXCLUDED.lockout_duration,
		backoff_factor = EXCLUDED.backoff_factor,
		max_lockout_duration = EXCLUDED.max_lockout_duration,
		updated_at = EXCLUDED.updated_at;
END
$$;
COMMENT ON FUNCTION authlog.set_lockout_policy(text, integer, interval, interval, numeric, interval) IS
	'Sets a tenant''s lockout policy: threshold (1 to 100, NIST SP 800-63B), failure window, lockout duration, backoff factor per consecutive lockout and the cap on a lockout''s length.';

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

CREATE TABLE authlog.mirror_state (
	slot_name text PRIMARY KEY,
	resync_pending boolean NOT NULL,
	resynced_at timestamptz
);
COMMENT ON TABLE authlog.mirror_state IS
	'The mirror worker''s durable state: a resync (copy of the tables to the store) pending for its slot survives a crash and is finished before streaming.';

CREATE FUNCTION authlog.mirror_worker_status(
	OUT slot_name text, OUT state text, OUT pid integer, OUT confirmed_lsn pg_lsn,
	OUT caught_up boolean, OUT applied_commit_time timestamptz,
	OUT documents_written bigint, OUT documents_refused bigint, OUT batches bigint,
	OUT last_error text, OUT last_error_at timestamptz)
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
	       w.last_error,
	       w.last_error_at,
	       w.pid,
	       s.wal_status
	FROM authlog.mirror_worker_status() w
	LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name OPERATOR(pg_catalog.=) w.slot_name;
COMMENT ON VIEW authlog.mirror_status IS
	'One row: the mirror''s state (streaming, backing_off, resyncing, disabled), how far the store lags, WAL the slot retains, documents written and refused, and the last error.';

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
	'Compares every row of auth_logs and account_lockouts (of one tenant, or all) with its document in the store; one row per difference, none when consistent.';

CREATE FUNCTION authlog.mirror_find(collection text, filter jsonb DEFAULT '{}')
RETURNS SETOF jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_mirror_find';
COMMENT ON FUNCTION authlog.mirror_find(text, jsonb) IS
	'Documents of a collection of the store (auth_logs, account_lockouts, dead_letters) matching a MongoDB Extended JSON filter, as canonical Extended JSON.';

-- Grants ---------------------------------------------------------------------

CREATE FUNCTION authlog.grant_service(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %I', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz) TO %I', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.reset_lockout(text, text, text, text, text, uuid) TO %I', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.lockout_status(text, text) TO %I', role);
END
$$;
COMMENT ON FUNCTION authlog.grant_service(regrole) IS
	'Gives a role what the auth service needs (schema usage, EXECUTE on record_login, reset_lockout and lockout_status) and nothing else: no table access.';

CREATE FUNCTION authlog.grant_reader(role regrole, tenant_id text, organisation_id text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF grant_reader.tenant_id IS NULL OR grant_reader.tenant_id OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'tenant_id must not be null or empty'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Name the tenant the role may read.';
	END IF;
	INSERT INTO authlog.reader_grants AS g (role, tenant_id, organisation_id)
		VALUES (grant_reader.role, grant_reader.tenant_id, grant_reader.organisation_id)
		ON CONFLICT DO NOTHING;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %I', role);
	EXECUTE pg_catalog.format('GRANT SELECT ON authlog.auth_logs, authlog.account_lockouts, authlog.reader_scope TO %I', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.lockout_status(text, text) TO %I', role);
END
$$;
COMMENT ON FUNCTION authlog.grant_reader(regrole, text, text) IS
	'Lets a role read one tenant (organisation_id NULL: all of its organisations, otherwise that organisation only) through row-level security.';

CREATE FUNCTION authlog.revoke_reader(role regrole, tenant_id text DEFAULT NULL, organisation_id text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- tenant_id NULL revokes every grant of the role
	DELETE FROM authlog.reader_grants g
	WHERE g.role OPERATOR(pg_catalog.=) revoke_reader.role
	  AND (revoke_reader.tenant_id IS NULL
		   OR (g.tenant_id OPERATOR(pg_catalog.=) revoke_reader.tenant_id
			   AND g.organisation_id IS NOT DISTINCT FROM revoke_reader.organisation_id));
	IF NOT EXISTS (SELECT 1 FROM authlog.reader_grants g
				   WHERE g.role OPERATOR(pg_catalog.=) revoke_reader.role) THEN
		EXECUTE pg_catalog.format('REVOKE SELECT ON authlog.auth_logs, authlog.account_lockouts, authlog.reader_scope FROM %I', role);
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION authlog.lockout_status(text, text) FROM %I', role);
		EXECUTE pg_catalog.format('REVOKE USAGE ON SCHEMA authlog FROM %I', role);
	END IF;
END
$$;
COMMENT ON FUNCTION authlog.revoke_reader(regrole, text, text) IS
	'Withdraws a reader grant (tenant_id NULL: all of the role''s grants); the role''s privileges go with its last grant.';

-- Nothing is granted to PUBLIC: PostgreSQL grants EXECUTE on new functions by default.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA authlog FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA authlog FROM PUBLIC;
REVOKE ALL ON SCHEMA authlog FROM PUBLIC;

-- pg_dump carries the audit trail, not just the settings.
SELECT pg_catalog.pg_extension_config_dump('authlog.auth_logs', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.account_lockouts', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.lockout_policies', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.reader_grants', '');
