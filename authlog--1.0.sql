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
CREATE INDEX auth_logs_tenant_time ON authlog.auth_logs (tenant_id, occurred_at);

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
-- Uncorrelated subqueries: each runs once per query and is probed as a hash
-- table, rather than once per row.

ALTER TABLE authlog.auth_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.auth_logs FORCE ROW LEVEL SECURITY;
ALTER TABLE authlog.account_lockouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.account_lockouts FORCE ROW LEVEL SECURITY;

CREATE POLICY auth_logs_reader ON authlog.auth_logs FOR SELECT
	USING (auth_logs.tenant_id OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id FROM authlog.reader_scope s WHERE s.organisation_id IS NULL)
		   OR (auth_logs.tenant_id, auth_logs.organisation_id) OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id, s.organisation_id FROM authlog.reader_scope s
				WHERE s.organisation_id IS NOT NULL));

CREATE POLICY account_lockouts_reader ON authlog.account_lockouts FOR SELECT
	USING (account_lockouts.tenant_id OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id FROM authlog.reader_scope s WHERE s.organisation_id IS NULL)
		   OR (account_lockouts.tenant_id, account_lockouts.organisation_id) OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id, s.organisation_id FROM authlog.reader_scope s
				WHERE s.organisation_id IS NOT NULL));

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

-- Seals ----------------------------------------------------------------------
-- The sealer (a background worker) reads its own logical slot in commit
-- order and, every authlog.seal_interval, seals per tenant the auth_logs
-- rows committed since its last cut.  A seal lists its members and each
-- member's digest, and chains to the tenant's previous seal; its digest
-- also goes to the server log and to NOTIFY authlog_seal.  Seals are
-- append-only, dumped and mirrored like the events they cover.

CREATE TABLE authlog.seals (
	tenant_id text NOT NULL,
	seal_no bigint NOT NULL,
	seal_id uuid NOT NULL,
	sealed_at timestamptz NOT NULL,
	first_commit_lsn pg_lsn NOT NULL,
	last_commit_lsn pg_lsn NOT NULL,
	first_committed_at timestamptz NOT NULL,
	last_committed_at timestamptz NOT NULL,
	event_count integer NOT NULL,
	members uuid[] NOT NULL,
	member_digests bytea NOT NULL,
	previous_digest bytea,
	digest bytea NOT NULL,
	PRIMARY KEY (tenant_id, seal_no)
);
COMMENT ON TABLE authlog.seals IS
	'Per-tenant chained SHA-256 seals over the auth_logs rows committed between two cuts of the sealer, in commit order; append-only. authlog.verify_seals() checks them.';
COMMENT ON COLUMN authlog.seals.seal_no IS
	'1, 2, 3 ... per tenant: a gap is a missing seal.';
COMMENT ON COLUMN authlog.seals.seal_id IS
	'Random id without the tenant, as sent with NOTIFY authlog_seal and written to the server log.';
COMMENT ON COLUMN authlog.seals.first_commit_lsn IS
	'Commit LSN of the first member''s transaction (0/0 for a seal of rows found by a table scan after the sealer''s slot was created).';
COMMENT ON COLUMN authlog.seals.last_committed_at IS
	'Commit time of the last member: an event sealed later that claims an occurred_at more than authlog.max_clock_skew before this is back-dated.';
COMMENT ON COLUMN authlog.seals.members IS
	'log_id of every event the seal covers, in commit order.';
COMMENT ON COLUMN authlog.seals.member_digests IS
	'32 bytes per member, in the order of members: authlog.event_digest() of the event as it was committed.';
COMMENT ON COLUMN authlog.seals.previous_digest IS
	'digest of the tenant''s seal seal_no - 1; NULL for seal 1.';
COMMENT ON COLUMN authlog.seals.digest IS
	'authlog.seal_digest() of this row: SHA-256 over its columns, the previous digest, the members and their digests (layout in the README).';

CREATE INDEX seals_tenant_committed ON authlog.seals (tenant_id, last_committed_at);

-- Which seal lists an event: the sealer's guard against sealing a row twice
-- (a crash between its commit and its slot advance replays the cut) and the
-- index export_events looks seals up by.  The verifier trusts only seals.
CREATE TABLE authlog.seal_members (
	tenant_id text NOT NULL,
	log_id uuid NOT NULL,
	seal_no bigint NOT NULL,
	PRIMARY KEY (tenant_id, log_id)
);
COMMENT ON TABLE authlog.seal_members IS
	'Index of authlog.seals.members: the seal that lists each sealed event. Kept by the sealer; verification does not rely on it.';

ALTER TABLE authlog.seals ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.seals FORCE ROW LEVEL SECURITY;
ALTER TABLE authlog.seal_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.seal_members FORCE ROW LEVEL SECURITY;

-- A seal covers a whole tenant: only tenant-wide readers see it.
CREATE POLICY seals_reader ON authlog.seals FOR SELECT
	USING (seals.tenant_id OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id FROM authlog.reader_scope s WHERE s.organisation_id IS NULL));
CREATE POLICY seal_members_reader ON authlog.seal_members FOR SELECT
	USING (seal_members.tenant_id OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id FROM authlog.reader_scope s WHERE s.organisation_id IS NULL));

CREATE TRIGGER seals_append_only
	BEFORE UPDATE OR DELETE ON authlog.seals
	FOR EACH ROW EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER seals_no_truncate
	BEFORE TRUNCATE ON authlog.seals
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER seal_members_append_only
	BEFORE UPDATE OR DELETE ON authlog.seal_members
	FOR EACH ROW EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER seal_members_no_truncate
	BEFORE TRUNCATE ON authlog.seal_members
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.forbid_log_rewrite();

CREATE FUNCTION authlog.event_digest(event authlog.auth_logs) RETURNS bytea
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_event_digest';
COMMENT ON FUNCTION authlog.event_digest(authlog.auth_logs) IS
	'SHA-256 of the event''s document in the store (BSON, as the output plugin writes it) without retry_count: what a seal records per member, computable from either store.';

CREATE FUNCTION authlog.seal_digest(seal authlog.seals) RETURNS bytea
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_seal_digest';
COMMENT ON FUNCTION authlog.seal_digest(authlog.seals) IS
	'The digest a seal must carry, recomputed from its other columns (layout in the README).';

CREATE TYPE authlog.seal_check AS (
	tenant_id text,
	seal_no bigint,
	seal_id uuid,
	sealed_at timestamptz,
	event_count integer,
	status text,
	log_id uuid,
	detail text
);
COMMENT ON TYPE authlog.seal_check IS
	'One finding of verify_seals or verify_store_seals. status: ok, row_changed, row_deleted, row_added, back_dated, sealed_twice, seal_altered, seal_missing (and, against the store, seal_differs).';

-- Set-based: each seal's members are joined to the table once, each row
-- digested once.  Unsealed rows are judged against the tenant's last seal.
CREATE FUNCTION authlog.verify_seals(tenant_id text DEFAULT NULL, since timestamptz DEFAULT NULL)
RETURNS SETOF authlog.seal_check
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	skew_text text := pg_catalog.current_setting('authlog.max_clock_skew');
	skew interval := skew_text::interval;
	t text;
BEGIN
	FOR t IN
		SELECT DISTINCT s.tenant_id FROM authlog.seals s
		WHERE verify_seals.tenant_id IS NULL OR s.tenant_id = verify_seals.tenant_id
		UNION
		SELECT DISTINCT l.tenant_id FROM authlog.auth_logs l
		WHERE verify_seals.tenant_id IS NOT NULL AND l.tenant_id = verify_seals.tenant_id
		ORDER BY 1
	LOOP
		RETURN QUERY
		WITH chain AS (
			SELECT s.*,
			       authlog.seal_digest(s) AS recomputed,
			       lag(s.seal_no) OVER w AS prev_no,
			       lag(s.digest) OVER w AS prev_digest,
			       lag(s.last_committed_at) OVER w AS prev_committed_at
			FROM authlog.seals s
			WHERE s.tenant_id = t
			WINDOW w AS (ORDER BY s.seal_no)
		), checked AS (
			SELECT c.*,
			       CASE WHEN c.seal_no - coalesce(c.prev_no, 0) = 2
			                 THEN pg_catalog.format('seal %s is missing', c.seal_no - 1)
			            WHEN c.seal_no - coalesce(c.prev_no, 0) > 2
			                 THEN pg_catalog.format('seals %s to %s are missing', coalesce(c.prev_no, 0) + 1, c.seal_no - 1)
			       END AS missing,
			       CASE WHEN c.recomputed <> c.digest
			                 THEN 'its digest does not match its contents'
			            WHEN pg_catalog.cardinality(c.members) <> c.event_count
			              OR pg_catalog.octet_length(c.member_digests) <> 32 * c.event_count
			                 THEN 'its member list does not match its event count'
			            WHEN c.prev_no IS NOT NULL AND c.seal_no = c.prev_no + 1
			             AND c.previous_digest IS DISTINCT FROM c.prev_digest
			                 THEN pg_catalog.format('it does not chain to seal %s', c.prev_no)
			            WHEN c.seal_no = 1 AND c.previous_digest IS NOT NULL
			                 THEN 'seal 1 chains to a previous seal'
			       END AS altered
			FROM chain c
			WHERE verify_seals.since IS NULL OR c.last_committed_at >= verify_seals.since
		), sealed AS (
			SELECT m.log_id, s.seal_no FROM authlog.seals s, pg_catalog.unnest(s.members) AS m(log_id)
			WHERE s.tenant_id = t
		), sealed_twice AS (
			SELECT x.log_id, min(x.seal_no) AS first_seal FROM sealed x GROUP BY x.log_id HAVING count(*) > 1
		), member_problems AS (
			SELECT c.seal_no, m.log_id, m.n,
			       CASE WHEN l.log_id IS NULL THEN 'row_deleted'
			            WHEN d.now_digest IS DISTINCT FROM d.sealed_digest THEN 'row_changed'
			            WHEN tw.first_seal < c.seal_no THEN 'sealed_twice'
			            WHEN l.occurred_at < c.prev_committed_at - skew THEN 'back_dated'
			       END AS status,
			       CASE WHEN l.log_id IS NULL THEN 'the seal lists it; the table no longer has it'
			            WHEN d.now_digest IS DISTINCT FROM d.sealed_digest
			                 THEN 'its columns differ from those the seal recorded'
			            WHEN tw.first_seal < c.seal_no
			                 THEN pg_catalog.format('seal %s lists it already', tw.first_seal)
			            ELSE pg_catalog.format('occurred_at %s is more than %s before seal %s closed at %s',
			                                   l.occurred_at, skew_text, c.prev_no, c.prev_committed_at)
			       END AS detail
			FROM checked c
			CROSS JOIN LATERAL pg_catalog.unnest(c.members) WITH ORDINALITY AS m(log_id, n)
			LEFT JOIN authlog.auth_logs l ON l.tenant_id = t AND l.log_id = m.log_id
			LEFT JOIN sealed_twice tw ON tw.log_id = m.log_id
			CROSS JOIN LATERAL (
				SELECT authlog.event_digest(l) AS now_digest,
				       pg_catalog.substr(c.member_digests, ((m.n - 1) * 32 + 1)::integer, 32) AS sealed_digest
			) d
		), last_seal AS (
			SELECT max(s.last_committed_at) AS committed_at FROM authlog.seals s WHERE s.tenant_id = t
		), unsealed AS (
			-- listed by no seal, yet the sealer recorded sealing it, or it
			-- claims a time inside the sealed period
			SELECT l.log_id, sm.seal_no,
			       CASE WHEN sm.seal_no IS NOT NULL
			            THEN pg_catalog.format('seal %s covered it (authlog.seal_members); no seal lists it now', sm.seal_no)
			            ELSE pg_catalog.format('no seal lists it, yet it claims %s, inside the sealed period (sealed up to %s)',
			                                   least(l.occurred_at, l.recorded_at), ls.committed_at)
			       END AS detail
			FROM authlog.auth_logs l
			CROSS JOIN last_seal ls
			LEFT JOIN authlog.seal_members sm ON sm.tenant_id = t AND sm.log_id = l.log_id
			WHERE l.tenant_id = t
			  AND (verify_seals.since IS NULL OR l.occurred_at >= verify_seals.since OR l.recorded_at >= verify_seals.since)
			  AND (sm.seal_no IS NOT NULL OR least(l.occurred_at, l.recorded_at) < ls.committed_at - skew)
			  AND NOT EXISTS (SELECT 1 FROM sealed WHERE sealed.log_id = l.log_id)
		)
		SELECT r.tenant_id, r.seal_no, r.seal_id, r.sealed_at, r.event_count, r.status, r.log_id, r.detail
		FROM (
			SELECT t AS tenant_id, c.seal_no, c.seal_id, c.sealed_at, c.event_count,
			       'seal_missing' AS status, NULL::uuid AS log_id, c.missing AS detail, 0 AS n, 1 AS k
			FROM checked c WHERE c.missing IS NOT NULL
			UNION ALL
			SELECT t, c.seal_no, c.seal_id, c.sealed_at, c.event_count,
			       'seal_altered', NULL, c.altered, 0, 2
			FROM checked c WHERE c.altered IS NOT NULL
			UNION ALL
			SELECT t, c.seal_no, c.seal_id, c.sealed_at, c.event_count,
			       p.status, p.log_id, p.detail, p.n, 3
			FROM member_problems p JOIN checked c USING (seal_no)
			WHERE p.status IS NOT NULL
			UNION ALL
			SELECT t, c.seal_no, c.seal_id, c.sealed_at, c.event_count, 'ok', NULL, NULL, 0, 0
			FROM checked c
			WHERE c.missing IS NULL AND c.altered IS NULL
			  AND NOT EXISTS (SELECT 1 FROM member_problems p
			                  WHERE p.seal_no = c.seal_no AND p.status IS NOT NULL)
			UNION ALL
			SELECT t, u.seal_no, NULL, NULL, NULL,
			       CASE WHEN u.seal_no IS NULL THEN 'row_added' ELSE 'seal_missing' END, u.log_id, u.detail, 0, 4
			FROM unsealed u
		) r
		ORDER BY r.seal_no NULLS LAST, r.k, r.n, r.log_id;
	END LOOP;
END
$$;
COMMENT ON FUNCTION authlog.verify_seals(text, timestamptz) IS
	'Recomputes every seal (of one tenant, or all; of seals closed since a time, or all) from the rows in PostgreSQL: one ok row per intact seal, otherwise what broke (row_changed, row_deleted, row_added, back_dated, seal_altered, seal_missing) and which row.';

CREATE FUNCTION authlog.verify_store_seals(tenant_id text DEFAULT NULL, since timestamptz DEFAULT NULL)
RETURNS SETOF authlog.seal_check
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_verify_store_seals';
COMMENT ON FUNCTION authlog.verify_store_seals(text, timestamptz) IS
	'The same verification against the document store''s copy (its seals and its documents), plus every seal that differs between the two stores (seal_differs) or that one of them lacks. Opens a short-lived client; for administrators.';

CREATE FUNCTION authlog.seal_now(timeout interval DEFAULT '60s') RETURNS bigint
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'authlog_seal_now';
COMMENT ON FUNCTION authlog.seal_now(interval) IS
	'Asks the sealer to cut now and waits until every event committed before the call is sealed; returns the seals written meanwhile, or raises an error naming what held the sealer back.';

CREATE FUNCTION authlog.sealer_status(
	OUT slot_name text, OUT state text, OUT pid integer, OUT sealed_lsn pg_lsn,
	OUT last_cut_at timestamptz, OUT seals_written bigint, OUT events_sealed bigint,
	OUT last_error text, OUT last_error_at timestamptz)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_sealer_status';
COMMENT ON FUNCTION authlog.sealer_status() IS
	'The sealer: its slot, state (starting, sealing, paused, backing_off), how far it has sealed, when it last cut, seals and events sealed since start, and its last error.';

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
	log_id uuid DEFAULT NULL,
	occurred_at timestamptz DEFAULT pg_catalog.now())
RETURNS uuid
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_reset_lockout';
COMMENT ON FUNCTION authlog.reset_lockout(text, text, text, text, text, uuid, timestamptz) IS
	'Help-desk unlock: clears the account''s failures and lock and records a lockout_reset event (reason admin) with the actor, the note, what was cleared and when the help desk acted (occurred_at, evidence only).';

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

-- Investigation ----------------------------------------------------------------
-- Every function here is SECURITY INVOKER, so row-level security scopes each
-- answer to what the caller may read: a tenant it may not read yields no rows.
-- Their bodies are SQL-standard (BEGIN ATOMIC): names are bound when the
-- extension is created, so no search_path at call time can capture them, and
-- the planner inlines them into the caller's query, so the arguments reach
-- the indexes.  Periods are [since, until) on occurred_at.  Their quals use
-- only leakproof operators on the table's columns (no COALESCE): row-level
-- security lets only those run before its own check and serve as index
-- conditions in a generic plan, which prepared statements end up using.

-- Ordering events written by one call (they share occurred_at and recorded_at):
-- an expired lock is cleared before the attempt is judged, and a lock or a
-- success's reset follows the attempt that caused it.
CREATE FUNCTION authlog.event_rank(event_type authlog.event_type, reason text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
	WHEN event_type = 'lockout_reset' AND reason = 'expired' THEN 0
	WHEN event_type IN ('account_locked', 'lockout_reset') AND reason IS DISTINCT FROM 'admin' THEN 2
	ELSE 1
END;
COMMENT ON FUNCTION authlog.event_rank(authlog.event_type, text) IS
	'Order of the events one call writes: 0 an expired lock''s reset, 1 the attempt (or an admin reset), 2 the lock or reset the attempt caused.';

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

CREATE FUNCTION authlog.sha256_chain_step(digest bytea, canonical text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.sha256(coalesce(digest, '\x'::bytea) || pg_catalog.convert_to(canonical, 'UTF8'));
COMMENT ON FUNCTION authlog.sha256_chain_step(bytea, text) IS
	'One link of the export digest chain: SHA-256 of the previous digest (none for the first row) followed by the row''s canonical text in UTF-8.';

CREATE AGGREGATE authlog.sha256_chain(text) (
	SFUNC = authlog.sha256_chain_step,
	STYPE = bytea
);
COMMENT ON AGGREGATE authlog.sha256_chain(text) IS
	'SHA-256 digest chained over canonical texts in aggregate order; as a window function, the running digest of an export.';

CREATE TYPE authlog.timeline_entry AS (
	occurred_at timestamptz,
	event_type authlog.event_type,
	user_id text,
	organisation_id text,
	ip_address inet,
	user_agent text,
	auth_path authlog.auth_path,
	decision text,
	reason text,
	actor text,
	failed_login_attempts integer,
	account_locked_until timestamptz,
	locked boolean,
	log_id uuid,
	recorded_at timestamptz,
	metadata jsonb
);
COMMENT ON TYPE authlog.timeline_entry IS
	'One event of incident_timeline, with the account''s failure count and lock after it (locked: a lock was in force after the event).';

CREATE FUNCTION authlog.incident_timeline(
	tenant_id text,
	since timestamptz,
	until timestamptz,
	user_id text DEFAULT NULL,
	ip_address inet DEFAULT NULL)
RETURNS SETOF authlog.timeline_entry
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT l.occurred_at, l.event_type, l.user_id, l.organisation_id, l.ip_address,
	       l.user_agent, l.auth_path, l.decision, l.reason, l.actor,
	       l.failed_login_attempts, l.account_locked_until,
	       coalesce(l.account_locked_until > l.recorded_at, false),
	       l.log_id, l.recorded_at, l.metadata
	FROM authlog.auth_logs l
	WHERE l.tenant_id = incident_timeline.tenant_id
	  AND l.occurred_at >= incident_timeline.since
	  AND l.occurred_at < incident_timeline.until
	  AND (incident_timeline.user_id IS NULL OR l.user_id = incident_timeline.user_id)
	  AND (incident_timeline.ip_address IS NULL OR l.ip_address = incident_timeline.ip_address)
	ORDER BY l.occurred_at, l.recorded_at, authlog.event_rank(l.event_type, l.reason), l.log_id;
END;
COMMENT ON FUNCTION authlog.incident_timeline(text, timestamptz, timestamptz, text, inet) IS
	'Every event of a tenant in [since, until), optionally of one account and/or one IP address, in order, with the failure count and lock state after each.';

CREATE TYPE authlog.targeted_account AS (
	user_id text,
	organisation_id text,
	failures bigint,
	refused_by_lock bigint,
	distinct_ips bigint,
	lockouts bigint,
	first_attempt timestamptz,
	last_attempt timestamptz,
	success_after_failures boolean
);
COMMENT ON TYPE authlog.targeted_account IS
	'One account of targeted_accounts: failed attempts (refused_by_lock of them made while locked), distinct source IPs of the failures, lockouts, first and last attempt, and whether a success followed the first failure.';

CREATE FUNCTION authlog.targeted_accounts(tenant_id text, since timestamptz, until timestamptz)
RETURNS SETOF authlog.targeted_account
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT l.user_id, l.organisation_id,
	       count(*) FILTER (WHERE l.event_type = 'login_failed'),
	       count(*) FILTER (WHERE l.event_type = 'login_failed' AND l.reason = 'account_locked'),
	       count(DISTINCT l.ip_address) FILTER (WHERE l.event_type = 'login_failed'),
	       count(*) FILTER (WHERE l.event_type = 'account_locked'),
	       min(l.occurred_at) FILTER (WHERE l.event_type IN ('login_failed', 'login_success')),
	       max(l.occurred_at) FILTER (WHERE l.event_type IN ('login_failed', 'login_success')),
	       coalesce(max(l.occurred_at) FILTER (WHERE l.event_type = 'login_success')
	                           > min(l.occurred_at) FILTER (WHERE l.event_type = 'login_failed'), false)
	FROM authlog.auth_logs l
	WHERE l.tenant_id = targeted_accounts.tenant_id
	  AND l.occurred_at >= targeted_accounts.since
	  AND l.occurred_at < targeted_accounts.until
	GROUP BY l.organisation_id, l.user_id
	HAVING count(*) FILTER (WHERE l.event_type = 'login_failed') > 0
	ORDER BY 3 DESC, l.user_id, l.organisation_id;
END;
COMMENT ON FUNCTION authlog.targeted_accounts(text, timestamptz, timestamptz) IS
	'One row per account with failed attempts in [since, until): failures, distinct IPs, lockouts, first and last attempt, and whether a success followed the failures; most failures first.';

CREATE TYPE authlog.attacking_source AS (
	kind text,
	source inet,
	addresses bigint,
	failures bigint,
	accounts_tried bigint,
	successes bigint,
	lockouts_caused bigint,
	first_seen timestamptz,
	last_seen timestamptz
);
COMMENT ON TYPE authlog.attacking_source IS
	'One source of attacking_ips: kind address (one IP) or network (an IPv4 /24 or IPv6 /64 holding several of the IPs seen), its failures, distinct accounts those failures tried, successes, lockouts its failures triggered, and when it was first and last seen.';

CREATE FUNCTION authlog.attacking_ips(tenant_id text, since timestamptz, until timestamptz,
									  min_failures integer DEFAULT 10)
RETURNS SETOF authlog.attacking_source
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	WITH e AS (
		SELECT l.ip_address AS address,
		       pg_catalog.network(pg_catalog.set_masklen(l.ip_address,
		           CASE pg_catalog.family(l.ip_address) WHEN 4 THEN 24 ELSE 64 END))::inet AS network,
		       l.event_type, l.user_id, l.occurred_at
		FROM authlog.auth_logs l
		WHERE l.tenant_id = attacking_ips.tenant_id
		  AND l.occurred_at >= attacking_ips.since
		  AND l.occurred_at < attacking_ips.until
		  AND l.ip_address IS NOT NULL
	)
	SELECT CASE WHEN GROUPING(e.address) = 0 THEN 'address' ELSE 'network' END,
	       coalesce(e.address, e.network),
	       count(DISTINCT e.address),
	       count(*) FILTER (WHERE e.event_type = 'login_failed'),
	       count(DISTINCT e.user_id) FILTER (WHERE e.event_type = 'login_failed'),
	       count(*) FILTER (WHERE e.event_type = 'login_success'),
	       count(*) FILTER (WHERE e.event_type = 'account_locked'),
	       min(e.occurred_at), max(e.occurred_at)
	FROM e
	GROUP BY GROUPING SETS ((e.address), (e.network))
	HAVING count(*) FILTER (WHERE e.event_type = 'login_failed') >= attacking_ips.min_failures
	   AND (GROUPING(e.address) = 0 OR count(DISTINCT e.address) > 1)
	ORDER BY 4 DESC, 1, 2;
END;
COMMENT ON FUNCTION authlog.attacking_ips(text, timestamptz, timestamptz, integer) IS
	'One row per IP address, and per /24 (IPv4) or /64 (IPv6) network of several addresses, with at least min_failures failed attempts in [since, until): failures, accounts tried, successes, lockouts caused; the credential-stuffing signature.';

CREATE TYPE authlog.likely_compromise AS (
	user_id text,
	organisation_id text,
	success_at timestamptz,
	success_ip inet,
	success_user_agent text,
	success_log_id uuid,
	failures bigint,
	failure_ips inet[],
	first_failure_at timestamptz,
	last_failure_at timestamptz,
	from_failing_ip boolean
);
COMMENT ON TYPE authlog.likely_compromise IS
	'A successful login of success_after_failures, the failures that preceded it (count, distinct IPs, first and last), and whether it came from one of those IPs.';

CREATE FUNCTION authlog.success_after_failures(tenant_id text, since timestamptz, until timestamptz,
											   min_failures integer DEFAULT 3,
											   within interval DEFAULT '1 hour')
RETURNS SETOF authlog.likely_compromise
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT s.user_id, s.organisation_id, s.occurred_at, s.ip_address, s.user_agent, s.log_id,
	       f.failures, f.failure_ips, f.first_failure_at, f.last_failure_at,
	       coalesce(s.ip_address = ANY (f.failure_ips), false)
	FROM authlog.auth_logs s
	CROSS JOIN LATERAL (
		SELECT max(p.occurred_at) AS previous_success
		FROM authlog.auth_logs p
		WHERE p.tenant_id = s.tenant_id AND p.user_id = s.user_id
		  AND p.event_type = 'login_success'
		  AND p.occurred_at >= s.occurred_at - success_after_failures.within
		  AND p.occurred_at < s.occurred_at
	) ps
	CROSS JOIN LATERAL (
		-- failures since the account's previous success, and within `within`
		SELECT count(*) AS failures,
		       array_agg(DISTINCT x.ip_address ORDER BY x.ip_address)
		           FILTER (WHERE x.ip_address IS NOT NULL) AS failure_ips,
		       min(x.occurred_at) AS first_failure_at,
		       max(x.occurred_at) AS last_failure_at
		FROM authlog.auth_logs x
		WHERE x.tenant_id = s.tenant_id
		  AND x.user_id = s.user_id
		  AND x.event_type = 'login_failed'
		  AND x.occurred_at >= s.occurred_at - success_after_failures.within
		  AND x.occurred_at < s.occurred_at
		  AND (ps.previous_success IS NULL OR x.occurred_at > ps.previous_success)
	) f
	WHERE s.tenant_id = success_after_failures.tenant_id
	  AND s.event_type = 'login_success'
	  AND s.occurred_at >= success_after_failures.since
	  AND s.occurred_at < success_after_failures.until
	  AND f.failures >= success_after_failures.min_failures
	ORDER BY s.occurred_at, s.user_id, s.log_id;
END;
COMMENT ON FUNCTION authlog.success_after_failures(text, timestamptz, timestamptz, integer, interval) IS
	'One row per successful login in [since, until) that followed at least min_failures failures of the same account within `within` (counted since its previous success), with the failures'' IPs and whether the success came from one of them: the likely compromises.';

CREATE TYPE authlog.lockout_trace_entry AS (
	attempt integer,
	occurred_at timestamptz,
	ip_address inet,
	user_agent text,
	auth_path authlog.auth_path,
	decision text,
	log_id uuid,
	lock_log_id uuid,
	locked_at timestamptz,
	locked_until timestamptz,
	lock_in_force boolean
);
COMMENT ON TYPE authlog.lockout_trace_entry IS
	'One failure of lockout_trace (attempt: its place in the series, 1 to the threshold), with the lock it led to and whether that lock was in force at the time asked about.';

CREATE FUNCTION authlog.lockout_trace(tenant_id text, user_id text, at timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF authlog.lockout_trace_entry
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	WITH lock AS (
		SELECT k.tenant_id, k.user_id, k.log_id, k.occurred_at, k.account_locked_until
		FROM authlog.auth_logs k
		WHERE k.tenant_id = lockout_trace.tenant_id
		  AND k.user_id = lockout_trace.user_id
		  AND k.event_type = 'account_locked'
		  AND k.occurred_at <= lockout_trace.at
		ORDER BY k.occurred_at DESC, k.recorded_at DESC
		LIMIT 1
	),
	-- the counted failures before the lock, latest first; a series holds at
	-- most 100 (the highest threshold) and starts at the one that counted 1
	before_lock AS (
		SELECT f.*, row_number() OVER (ORDER BY f.occurred_at DESC, f.recorded_at DESC,
		                                        f.failed_login_attempts DESC) AS back
		FROM lock
		CROSS JOIN LATERAL (
			SELECT x.occurred_at, x.recorded_at, x.failed_login_attempts, x.ip_address,
			       x.user_agent, x.auth_path, x.decision, x.log_id
			FROM authlog.auth_logs x
			WHERE x.tenant_id = lock.tenant_id
			  AND x.user_id = lock.user_id
			  AND x.event_type = 'login_failed'
			  AND x.reason IS NULL
			  AND x.occurred_at <= lock.occurred_at
			ORDER BY x.occurred_at DESC, x.recorded_at DESC, x.failed_login_attempts DESC
			LIMIT 100
		) f
	)
	SELECT b.failed_login_attempts, b.occurred_at, b.ip_address, b.user_agent, b.auth_path,
	       b.decision, b.log_id, lock.log_id, lock.occurred_at, lock.account_locked_until,
	       lock.account_locked_until > lockout_trace.at
	       AND NOT EXISTS (SELECT 1 FROM authlog.auth_logs r
	                       WHERE r.tenant_id = lock.tenant_id
	                         AND r.user_id = lock.user_id
	                         AND r.event_type = 'lockout_reset'
	                         AND r.occurred_at >= lock.occurred_at
	                         AND r.occurred_at <= lockout_trace.at
	                         AND r.log_id <> lock.log_id)
	FROM before_lock b, lock
	WHERE b.back <= (SELECT min(s.back) FROM before_lock s WHERE s.failed_login_attempts = 1)
	ORDER BY b.back DESC;
END;
COMMENT ON FUNCTION authlog.lockout_trace(text, text, timestamptz) IS
	'The failures (IP, user agent, path, time) that led to the account''s lockout in force at `at`, or else to its latest lockout before `at`, first failure first.';

CREATE TYPE authlog.compliance_day AS (
	day date,
	event_type authlog.event_type,
	events bigint,
	users bigint,
	ip_addresses bigint,
	lockouts bigint,
	resets bigint,
	admin_resets bigint,
	reset_by text[]
);
COMMENT ON TYPE authlog.compliance_day IS
	'One day (UTC) and event type of compliance_report; event_type NULL is the whole day.  lockouts and resets count account_locked and lockout_reset events, reset_by lists the help-desk actors.';

CREATE FUNCTION authlog.compliance_report(tenant_id text, since timestamptz, until timestamptz)
RETURNS SETOF authlog.compliance_day
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT (l.occurred_at AT TIME ZONE 'UTC')::date, l.event_type,
	       count(*), count(DISTINCT l.user_id), count(DISTINCT l.ip_address),
	       count(*) FILTER (WHERE l.event_type = 'account_locked'),
	       count(*) FILTER (WHERE l.event_type = 'lockout_reset'),
	       count(*) FILTER (WHERE l.event_type = 'lockout_reset' AND l.reason = 'admin'),
	       coalesce(array_agg(DISTINCT l.actor ORDER BY l.actor) FILTER (WHERE l.actor IS NOT NULL), '{}')
	FROM authlog.auth_logs l
	WHERE l.tenant_id = compliance_report.tenant_id
	  AND l.occurred_at >= compliance_report.since
	  AND l.occurred_at < compliance_report.until
	GROUP BY GROUPING SETS (((l.occurred_at AT TIME ZONE 'UTC')::date, l.event_type),
	                        ((l.occurred_at AT TIME ZONE 'UTC')::date))
	ORDER BY 1, 2 NULLS LAST;
END;
COMMENT ON FUNCTION authlog.compliance_report(text, timestamptz, timestamptz) IS
	'Audit evidence per day (UTC) and event type in [since, until), with a row for the whole day: events, distinct users and IPs, lockouts, resets, admin resets and who reset.';

CREATE TYPE authlog.exported_event AS (
	seq bigint,
	tenant_id text,
	log_id uuid,
	organisation_id text,
	user_id text,
	event_type authlog.event_type,
	ip_address inet,
	user_agent text,
	auth_path authlog.auth_path,
	occurred_at timestamptz,
	recorded_at timestamptz,
	metadata jsonb,
	reason text,
	actor text,
	decision text,
	failed_login_attempts integer,
	account_locked_until timestamptz,
	retry_count integer,
	canonical text,
	digest text,
	event_digest text,
	seal_no bigint,
	seal jsonb
);
COMMENT ON TYPE authlog.exported_event IS
	'One event of export_events: its place, its columns, its canonical text, the SHA-256 digest (hex) chained over the canonical texts of the export up to and including it, its event_digest (hex, what its seal records), the seal_no of the seal that covers it (NULL while unsealed), and that seal in full on the first exported event it covers.';

CREATE FUNCTION authlog.export_events(tenant_id text, since timestamptz, until timestamptz)
RETURNS SETOF authlog.exported_event
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT row_number() OVER w,
	       l.tenant_id, l.log_id, l.organisation_id, l.user_id, l.event_type, l.ip_address,
	       l.user_agent, l.auth_path, l.occurred_at, l.recorded_at, l.metadata, l.reason,
	       l.actor, l.decision, l.failed_login_attempts, l.account_locked_until, l.retry_count,
	       authlog.event_canonical(l),
	       pg_catalog.encode(authlog.sha256_chain(authlog.event_canonical(l)) OVER w, 'hex'),
	       pg_catalog.encode(authlog.event_digest(l), 'hex'),
	       m.seal_no,
	       CASE WHEN m.seal_no IS NOT NULL AND row_number() OVER (PARTITION BY m.seal_no ORDER BY
	                 l.occurred_at, l.recorded_at, authlog.event_rank(l.event_type, l.reason), l.log_id) = 1
	            THEN (SELECT pg_catalog.to_jsonb(s) FROM authlog.seals s
	                  WHERE s.tenant_id = l.tenant_id AND s.seal_no = m.seal_no)
	       END
	FROM authlog.auth_logs l
	LEFT JOIN authlog.seal_members m ON m.tenant_id = l.tenant_id AND m.log_id = l.log_id
	WHERE l.tenant_id = export_events.tenant_id
	  AND l.occurred_at >= export_events.since
	  AND l.occurred_at < export_events.until
	WINDOW w AS (ORDER BY l.occurred_at, l.recorded_at, authlog.event_rank(l.event_type, l.reason), l.log_id
	             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
	ORDER BY 1;
END;
COMMENT ON FUNCTION authlog.export_events(text, timestamptz, timestamptz) IS
	'Every event of a tenant in [since, until) in a stable order (occurred_at, recorded_at, event_rank, log_id), each with its canonical text, the running SHA-256 digest of the export so far (the last digest fixes the whole set), its event digest and the seal that covers it: a package an auditor checks without the database.';

-- Real-time metrics ---------------------------------------------------------------

CREATE FUNCTION authlog.stat_events_readable(
	OUT tenant_id text, OUT organisation_id text, OUT event_type text,
	OUT events bigint, OUT last_minute bigint, OUT last_hour bigint,
	OUT stats_reset timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_stat_events';
COMMENT ON FUNCTION authlog.stat_events_readable() IS
	'The shared-memory event counters of the tenants and organisations the caller may read (all of them for members of pg_read_all_stats); read authlog.stat_events instead.';

CREATE VIEW authlog.stat_events AS
	SELECT s.tenant_id, s.organisation_id, s.event_type::authlog.event_type AS event_type,
	       s.events, s.last_minute, s.last_hour, s.stats_reset
	FROM authlog.stat_events_readable() s;
COMMENT ON VIEW authlog.stat_events IS
	'Committed events per tenant, organisation and event type since the last stat_reset, in the last minute and in the last hour (retries not counted), from shared memory: reading it scans no table.  Shows only what the caller may read.';

CREATE FUNCTION authlog.stat_reset() RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_stat_reset';
COMMENT ON FUNCTION authlog.stat_reset() IS
	'Sets every counter of authlog.stat_events back to zero and its stats_reset to now.';

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
	       s.wal_status
	FROM authlog.mirror_worker_status() w
	LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name OPERATOR(pg_catalog.=) w.slot_name;
COMMENT ON VIEW authlog.mirror_status IS
	'One row: the mirror''s state (streaming, backing_off, resyncing, disabled), how far the store lags, WAL the slot retains, documents written and refused, lockouts announced with NOTIFY authlog_lockout (and any that could not be), and the last error.';

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

-- Grants ---------------------------------------------------------------------

CREATE FUNCTION authlog.grant_service(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %I', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz) TO %I', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.reset_lockout(text, text, text, text, text, uuid, timestamptz) TO %I', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.lockout_status(text, text) TO %I', role);
END
$$;
COMMENT ON FUNCTION authlog.grant_service(regrole) IS
	'Gives a role what the auth service needs (schema usage, EXECUTE on record_login, reset_lockout and lockout_status) and nothing else: no table access.';

-- What a reader is given, in one place for grant_reader and revoke_reader.
CREATE FUNCTION authlog.reader_relations() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.auth_logs, authlog.account_lockouts, authlog.reader_scope, authlog.stat_events, '
	'authlog.seals, authlog.seal_members';
COMMENT ON FUNCTION authlog.reader_relations() IS
	'The relations grant_reader gives SELECT on.';

CREATE FUNCTION authlog.reader_functions() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.lockout_status(text, text), '
	'authlog.incident_timeline(text, timestamptz, timestamptz, text, inet), '
	'authlog.targeted_accounts(text, timestamptz, timestamptz), '
	'authlog.attacking_ips(text, timestamptz, timestamptz, integer), '
	'authlog.success_after_failures(text, timestamptz, timestamptz, integer, interval), '
	'authlog.lockout_trace(text, text, timestamptz), '
	'authlog.compliance_report(text, timestamptz, timestamptz), '
	'authlog.export_events(text, timestamptz, timestamptz), '
	'authlog.event_rank(authlog.event_type, text), '
	'authlog.event_canonical(authlog.auth_logs), '
	'authlog.sha256_chain_step(bytea, text), '
	'authlog.sha256_chain(text), '
	'authlog.event_digest(authlog.auth_logs), '
	'authlog.seal_digest(authlog.seals), '
	'authlog.verify_seals(text, timestamptz), '
	'authlog.stat_events_readable()';
COMMENT ON FUNCTION authlog.reader_functions() IS
	'The functions grant_reader gives EXECUTE on: lockout_status, the investigation functions and what they call, the seals'' digests and verify_seals, and the metrics.';

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
	EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %I', authlog.reader_relations(), role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %I', authlog.reader_functions(), role);
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
		EXECUTE pg_catalog.format('REVOKE SELECT ON %s FROM %I', authlog.reader_relations(), role);
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM %I', authlog.reader_functions(), role);
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
SELECT pg_catalog.pg_extension_config_dump('authlog.seals', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.seal_members', '');
