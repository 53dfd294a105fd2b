/* authlog--1.0--1.1.sql: what 1.1 changes, on top of 1.0 (test/t/130 proves the result is the schema a fresh 1.1 install makes); made by make from schema/upgrade/1.0--1.1.sql and the pieces it includes; edit those */

\echo Use "ALTER EXTENSION authlog UPDATE TO '1.1'" to load this file. \quit

-- Seals' members and digests stored as they are --------------------------------
-- SHA-256 digests do not compress and log ids barely do: pglz spent its time
-- on every seal trying (doc/performance.md).  Seals written before keep their
-- storage.
ALTER TABLE authlog.seals ALTER COLUMN members SET STORAGE EXTERNAL;
ALTER TABLE authlog.seals ALTER COLUMN member_digests SET STORAGE EXTERNAL;

-- auth_logs, partitioned by recorded_at ------------------------------------------
-- (doc/retention.md, "Partitions")  1.0's table becomes the partition of
-- every time before the update's next month, with its rows: no row moves,
-- so the output plugin decodes nothing, and the seals, the store and every
-- id stay as they were.  It leaves the extension: pg_dump carries it, as it
-- carries the months' partitions (create_partitions).  What takes the old
-- table's row type, or reads it in an SQL body, goes first and comes back
-- below.
DROP FUNCTION authlog.incident_timeline(text, timestamptz, timestamptz, text, inet);
DROP FUNCTION authlog.targeted_accounts(text, timestamptz, timestamptz);
DROP FUNCTION authlog.attacking_ips(text, timestamptz, timestamptz, integer);
DROP FUNCTION authlog.success_after_failures(text, timestamptz, timestamptz, integer, interval);
DROP FUNCTION authlog.lockout_trace(text, text, timestamptz);
DROP FUNCTION authlog.compliance_report(text, timestamptz, timestamptz);
DROP FUNCTION authlog.export_events(text, timestamptz, timestamptz);
DROP FUNCTION authlog.event_canonical(authlog.auth_logs);
DROP FUNCTION authlog.event_digest(authlog.auth_logs);
ALTER TABLE authlog.auth_logs RENAME TO auth_logs_1_0;
-- its key becomes the partitioned table's, which holds recorded_at (event_ids
-- keeps (tenant_id, log_id) unique)
ALTER TABLE authlog.auth_logs_1_0 DROP CONSTRAINT auth_logs_pkey;
ALTER INDEX authlog.auth_logs_user_time RENAME TO auth_logs_1_0_user_time;
ALTER INDEX authlog.auth_logs_ip_time RENAME TO auth_logs_1_0_ip_time;
ALTER INDEX authlog.auth_logs_tenant_time RENAME TO auth_logs_1_0_tenant_time;
DROP TRIGGER auth_logs_append_only ON authlog.auth_logs_1_0;
DROP TRIGGER auth_logs_no_truncate ON authlog.auth_logs_1_0;
DROP POLICY auth_logs_reader ON authlog.auth_logs_1_0;
ALTER EXTENSION authlog DROP TABLE authlog.auth_logs_1_0;
COMMENT ON TABLE authlog.auth_logs_1_0 IS
	'The events recorded before authlog 1.1, and until the first month after the update: a partition of auth_logs.';

CREATE TABLE authlog.auth_logs (
	LIKE authlog.auth_logs_1_0 INCLUDING DEFAULTS INCLUDING COMMENTS,
	PRIMARY KEY (tenant_id, log_id, recorded_at)
) PARTITION BY RANGE (recorded_at);
--@ include 21_auth_logs.sql
DO $$
BEGIN
	EXECUTE pg_catalog.format('ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.auth_logs_1_0'
	                          ' FOR VALUES FROM (MINVALUE) TO (%L)',
	                          (pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC')
	                           + interval '1 month') AT TIME ZONE 'UTC');
END
$$;
--@ include 22_event_functions.sql

--@ include 21_event_ids.sql
-- 1.0's events: their ids, with no fingerprint (their arguments were not kept),
-- and the update's transaction as their position: poll_events returns them in
-- log_id order, before every event recorded after the update
INSERT INTO authlog.event_ids (tenant_id, log_id, recorded_at)
SELECT l.tenant_id, l.log_id, l.recorded_at FROM authlog.auth_logs l;
SELECT pg_catalog.pg_extension_config_dump('authlog.auth_logs', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.event_ids', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.auth_logs_default', '');
--@ include 21_account_organisations.sql
-- 1.0's accounts: the organisation each was first recorded in
INSERT INTO authlog.account_organisations (tenant_id, user_id, organisation_id)
SELECT DISTINCT ON (l.tenant_id, l.user_id) l.tenant_id, l.user_id, l.organisation_id
FROM authlog.auth_logs l ORDER BY l.tenant_id, l.user_id, l.recorded_at, l.log_id;
SELECT pg_catalog.pg_extension_config_dump('authlog.account_organisations', '');
--@ include 25_partitions.sql

CREATE OR REPLACE FUNCTION authlog.record_login(
	tenant_id text,
	organisation_id text,
	user_id text,
	success boolean,
	ip_address inet,
	user_agent text,
	auth_path authlog.auth_path,
	metadata jsonb DEFAULT '{}',
	log_id uuid DEFAULT NULL,
	occurred_at timestamptz DEFAULT NULL)
RETURNS authlog.login_decision
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_record_login_1_1';
COMMENT ON FUNCTION authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz) IS
	'Records one login attempt and applies the tenant''s lockout policy in the same transaction; returns the decision the caller must obey. The same log_id with the same arguments is a retry and returns the recorded decision; with any other argument it is refused (SQLSTATE LA001).';

CREATE OR REPLACE FUNCTION authlog.reset_lockout(
	tenant_id text,
	organisation_id text,
	user_id text,
	actor text,
	reason text DEFAULT NULL,
	log_id uuid DEFAULT NULL,
	occurred_at timestamptz DEFAULT NULL)
RETURNS uuid
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_reset_lockout_1_1';
COMMENT ON FUNCTION authlog.reset_lockout(text, text, text, text, text, uuid, timestamptz) IS
	'Help-desk unlock: clears the account''s failures and lock and records a lockout_reset event (reason admin) with the actor, the note, what was cleared and when the help desk acted (occurred_at, evidence only). The same log_id with the same arguments is a retry; with any other argument it is refused (SQLSTATE LA001).';

-- The digest layout moved from the README to doc/seals.md.
COMMENT ON COLUMN authlog.seals.digest IS
	'authlog.seal_digest() of this row: SHA-256 over its columns, the previous digest, the members and their digests (layout in doc/seals.md).';
COMMENT ON FUNCTION authlog.seal_digest(authlog.seals) IS
	'The digest a seal must carry, recomputed from its other columns (layout in doc/seals.md).';

-- (1.1) Room on each page for a row's next version: every failure updates its
-- account's row, and an update on a full page is not HOT (a new primary key
-- entry each time: callgrind, doc/performance.md).  Pages written from now on.
ALTER TABLE authlog.account_lockouts SET (fillfactor = 70);

-- An account belongs to its organisation ------------------------------------
-- (doc/security.md)  1.0 overwrote account_lockouts.organisation_id with
-- every call, so a call under another organisation hid the account, and
-- its reset, from its organisation's readers.  1.1 pins an account to the
-- organisation it was first recorded in (a first success now creates the
-- account's row too); a call naming another is refused with SQLSTATE LA002
-- and writes nothing; move_account is the explicit, recorded move.  The new
-- event type is used by C code only: a value added by ALTER TYPE cannot be
-- used in the transaction that adds it.
ALTER TYPE authlog.event_type ADD VALUE 'account_moved';
COMMENT ON TYPE authlog.event_type IS
	'What an auth_logs row records: an attempt (login_failed, login_success), a change of lockout state (account_locked, lockout_reset), or an account moved to another organisation (account_moved, one row in each).';

CREATE FUNCTION authlog.move_account(tenant_id text, user_id text, to_organisation text,
                                     actor text, reason text DEFAULT NULL)
RETURNS uuid
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_move_account';
COMMENT ON FUNCTION authlog.move_account(text, text, text, text, text) IS
	'Moves an account, with its failures and lock, to another organisation of its tenant: records an account_moved event in each organisation (reason moved_out and moved_in, the actor, the note) and returns the id of the new organisation''s. Superusers only unless granted.';

--@ include 15_identity.sql

-- A grant stays with the role it was given to -------------------------------------
-- 1.0 kept a grant as the role's OID alone: after DROP ROLE the row stayed
-- (pg_dump carried it), a later role given that OID would have read the
-- tenant, and reader_scope failed for every reader on the dropped role's
-- row.  1.1 keeps the role's name as granted; a row whose OID no longer
-- names that role is stale: ignored everywhere, listed and removable.
ALTER TABLE authlog.reader_grants ADD COLUMN role_name text;
UPDATE authlog.reader_grants SET role_name = role::text;
ALTER TABLE authlog.reader_grants ALTER COLUMN role_name SET NOT NULL;
COMMENT ON COLUMN authlog.reader_grants.role_name IS
	'The role''s name when it was granted: a row whose role no longer prints as this name (dropped, renamed, or an OID reused) is stale and grants nothing.';

CREATE OR REPLACE VIEW authlog.reader_scope WITH (security_barrier) AS
	SELECT g.tenant_id, g.organisation_id
	FROM authlog.reader_grants g
	WHERE CASE WHEN g.role::pg_catalog.text OPERATOR(pg_catalog.=) g.role_name
	           THEN pg_catalog.pg_has_role(current_user, g.role::oid, 'USAGE')
	           ELSE false END
	UNION ALL
	SELECT r.tenant_id, o.organisation_id
	FROM authlog.request_scope((SELECT a.oid FROM pg_catalog.pg_roles a
	                            WHERE a.rolname OPERATOR(pg_catalog.=) current_user)) r
	LEFT JOIN LATERAL pg_catalog.unnest(r.organisations) AS o(organisation_id) ON true
	WHERE r.roles OPERATOR(pg_catalog.&&) ARRAY['reader', 'helpdesk', 'compliance'];

CREATE FUNCTION authlog.stale_reader_grants()
RETURNS TABLE (role oid, role_name text, tenant_id text, organisation_id text, granted_at timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT g.role::oid, g.role_name, g.tenant_id, g.organisation_id, g.granted_at
	FROM authlog.reader_grants g
	WHERE g.role::pg_catalog.text OPERATOR(pg_catalog.<>) g.role_name
	ORDER BY g.role_name, g.tenant_id, g.organisation_id;
END;
COMMENT ON FUNCTION authlog.stale_reader_grants() IS
	'Reader grants whose role was dropped or renamed, or whose OID now names another role: they grant nothing; drop_stale_reader_grants() removes them.';

CREATE FUNCTION authlog.drop_stale_reader_grants() RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	WITH dropped AS (
		DELETE FROM authlog.reader_grants g
		WHERE g.role::pg_catalog.text OPERATOR(pg_catalog.<>) g.role_name
		RETURNING 1)
	SELECT count(*) FROM dropped;
END;
COMMENT ON FUNCTION authlog.drop_stale_reader_grants() IS
	'Removes the stale reader grants (see stale_reader_grants()); returns how many.';

-- The lockout clock is the call's time, taken once it holds the account's
-- row lock (src/record.c, call_time): 1.0's transaction start let a long
-- transaction set a lock that was already over.
COMMENT ON COLUMN authlog.auth_logs.recorded_at IS
	'The call''s time, read once it held the account''s row lock (never before the account''s last update): the clock every lockout rule is measured with.';

-- How user ids name accounts ----------------------------------------------------
-- (doc/security.md)  Dave, dave and the full-width ｄａｖｅ were three
-- accounts, each with a threshold of its own, wherever the identity provider
-- treats them as one user.  A tenant may choose: exact (the default),
-- casefold (surrounding white space trimmed, Unicode lower case by the ICU
-- root collation: the C collation folds ASCII only) or nfkc_casefold (NFKC
-- first).  The account's key is the user_id of its rows; the spelling a call
-- sent is kept on its events as metadata.authlog.user_id_as_sent.
CREATE TABLE authlog.tenant_settings (
	tenant_id text PRIMARY KEY,
	user_id_match text NOT NULL DEFAULT 'exact'
		CHECK (user_id_match IN ('exact', 'casefold', 'nfkc_casefold')),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE authlog.tenant_settings IS
	'Per-tenant settings besides the lockout policy: user_id_match, how user ids name accounts (exact, casefold, nfkc_casefold). Set with set_user_id_matching.';
CREATE TRIGGER tenant_settings_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authlog.tenant_settings
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.policy_changed();
SELECT pg_catalog.pg_extension_config_dump('authlog.tenant_settings', '');

CREATE FUNCTION authlog.account_key(tenant_id text, user_id text) RETURNS text
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'authlog_account_key';
COMMENT ON FUNCTION authlog.account_key(text, text) IS
	'The account a user id names under the tenant''s user_id_match: what account_lockouts.user_id and auth_logs.user_id hold.';

CREATE FUNCTION authlog.set_user_id_matching(tenant_id text, rule text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF set_user_id_matching.tenant_id IS NULL OR set_user_id_matching.tenant_id = '' THEN
		RAISE EXCEPTION 'tenant_id must not be null or empty'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Name the tenant the rule is for.';
	END IF;
	IF rule IS NULL OR rule NOT IN ('exact', 'casefold', 'nfkc_casefold') THEN
		RAISE EXCEPTION 'unknown user id matching rule "%"', rule
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use exact, casefold or nfkc_casefold.';
	END IF;
	IF rule <> 'exact' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_collation c WHERE c.collname = 'und-x-icu') THEN
		RAISE EXCEPTION 'user id matching rule "%" needs the ICU collation "und-x-icu"', rule
			USING ERRCODE = 'feature_not_supported', HINT = 'Use a PostgreSQL built with ICU.';
	END IF;
	IF rule = 'nfkc_casefold' AND pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
		RAISE EXCEPTION 'user id matching rule "nfkc_casefold" needs a UTF8 database'
			USING ERRCODE = 'feature_not_supported';
	END IF;
	INSERT INTO authlog.tenant_settings AS s (tenant_id, user_id_match)
		VALUES (set_user_id_matching.tenant_id, rule)
		ON CONFLICT ON CONSTRAINT tenant_settings_pkey
		DO UPDATE SET user_id_match = EXCLUDED.user_id_match, updated_at = pg_catalog.now();
END
$$;
COMMENT ON FUNCTION authlog.set_user_id_matching(text, text) IS
	'How the tenant''s user ids name accounts for lockout: exact (the default), casefold or nfkc_casefold. Set it before the tenant''s first events: accounts keyed under another rule stay as they are.';

-- One anchor per cut (doc/seals.md, "The anchors") ------------------------------------
-- 1.0 logged and notified each seal: with one event per tenant per cut, one
-- line per login.  1.1 anchors a cut: the root of an RFC 6962 Merkle tree
-- over its seals' digests goes to the server log and NOTIFY authlog_seal,
-- once, after the cut commits (a NOTIFY that fails never fails the cut),
-- and each seal keeps the root and its audit path.  Seals cut before have
-- no anchor; the verifiers check every seal that has one, and that none
-- lacks one after the first that has.  (Here, before the readers'
-- functions below: scoped_seals returns the whole row.)
ALTER TABLE authlog.seals
	ADD COLUMN anchor_root bytea,
	ADD COLUMN anchor_index integer,
	ADD COLUMN anchor_size integer,
	ADD COLUMN anchor_path bytea;
COMMENT ON COLUMN authlog.seals.anchor_root IS
	'(1.1) The anchor of the cut that wrote the seal: the root of an RFC 6962 Merkle tree over the digests of the cut''s seals, in the order written, which the server log (authlog anchor) and NOTIFY authlog_seal carry. NULL for seals cut before 1.1.';
COMMENT ON COLUMN authlog.seals.anchor_index IS
	'(1.1) The seal''s leaf in its cut''s tree, from 0.';
COMMENT ON COLUMN authlog.seals.anchor_size IS
	'(1.1) How many seals its cut wrote: the size of the tree.';
COMMENT ON COLUMN authlog.seals.anchor_path IS
	'(1.1) The seal''s audit path in its cut''s tree (RFC 6962, 32 bytes a hash, deepest first): authlog.anchor_root(digest, anchor_index, anchor_size, anchor_path) = anchor_root.';

CREATE FUNCTION authlog.anchor_root(digest bytea, anchor_index integer, anchor_size integer, anchor_path bytea)
RETURNS bytea
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_anchor_root';
COMMENT ON FUNCTION authlog.anchor_root(bytea, integer, integer, bytea) IS
	'The root an audit path leads to from a seal''s digest (RFC 6962 / RFC 9162 inclusion proof; NULL when the path cannot be one for that index and size): equal to the seal''s anchor_root, and to the root its cut logged, for an intact seal.';

-- Readers read through functions only ------------------------------------------
-- (doc/security.md, "What a reader can learn")  A reader's own query on a
-- table puts its leakproof quals under the policy: as index conditions they
-- run first, and EXPLAIN ANALYZE's row counts answer yes or no about rows
-- it may not read; the planner's estimates come from every tenant's rows.
-- So readers lose SELECT on the tables, and every investigation function
-- runs as its definer, reads only the caller's scope, and shows a reader
-- nothing but its own call.  Who the caller is crosses the definer
-- boundary as a proof (src/caller_proof.c), the default of each
-- function's last argument.

CREATE FUNCTION authlog.caller_proof() RETURNS bytea
LANGUAGE c VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'authlog_caller_proof';
COMMENT ON FUNCTION authlog.caller_proof() IS
	'Proof, valid in this transaction and this session only, that the current role is asking: the default of the caller argument of every reader function. Never needs to be called by hand.';

CREATE FUNCTION authlog.proven_caller(caller bytea) RETURNS oid
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'authlog_proven_caller';
COMMENT ON FUNCTION authlog.proven_caller(bytea) IS
	'The role a caller_proof() names; an error (insufficient_privilege) for anything else.';

CREATE FUNCTION authlog.caller_reads_whole_tenant(caller bytea, tenant_id text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller_role oid := authlog.proven_caller(caller_reads_whole_tenant.caller);
BEGIN
	RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_authid a
	               WHERE a.oid = caller_role AND (a.rolsuper OR a.rolbypassrls))
	    OR EXISTS (SELECT 1 FROM authlog.reader_grants g
	               WHERE g.tenant_id = caller_reads_whole_tenant.tenant_id
	                 AND g.organisation_id IS NULL
	                 AND CASE WHEN g.role::text = g.role_name
	                          THEN pg_catalog.pg_has_role(caller_role, g.role::oid, 'USAGE')
	                          ELSE false END)
	    -- a gateway's request for the whole tenant
	    OR EXISTS (SELECT 1 FROM authlog.request_scope(caller_role) r
	               WHERE r.tenant_id = caller_reads_whole_tenant.tenant_id
	                 AND r.organisations IS NULL
	                 AND r.roles && ARRAY['reader', 'helpdesk', 'compliance']);
END
$$;
COMMENT ON FUNCTION authlog.caller_reads_whole_tenant(bytea, text) IS
	'Whether the proven caller reads every organisation of the tenant: a tenant-wide grant to a role it uses, or superuser or BYPASSRLS (as row-level security would let them).';

CREATE FUNCTION authlog.caller_organisations(caller bytea, tenant_id text) RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller_role oid := authlog.proven_caller(caller_organisations.caller);
BEGIN
	RETURN (SELECT coalesce(pg_catalog.array_agg(DISTINCT o.organisation_id), '{}')
	        FROM (SELECT g.organisation_id
	              FROM authlog.reader_grants g
	              WHERE g.tenant_id = caller_organisations.tenant_id
	                AND g.organisation_id IS NOT NULL
	                AND CASE WHEN g.role::text = g.role_name
	                         THEN pg_catalog.pg_has_role(caller_role, g.role::oid, 'USAGE')
	                         ELSE false END
	              UNION ALL
	              -- a gateway's request for some organisations
	              SELECT pg_catalog.unnest(r.organisations)
	              FROM authlog.request_scope(caller_role) r
	              WHERE r.tenant_id = caller_organisations.tenant_id
	                AND r.roles && ARRAY['reader', 'helpdesk', 'compliance']) o);
END
$$;
COMMENT ON FUNCTION authlog.caller_organisations(bytea, text) IS
	'The organisations of the tenant the proven caller was granted one by one.';

-- The caller's part of a tenant's rows.  Inlined into the functions that use
-- them (PL/pgSQL, so each statement is planned once per session, not once
-- per call as a SQL function's body would be): the index scans stay bounded by the caller's own predicates; each
-- scope check runs once per query (InitPlans), and a caller with no grant on
-- the tenant stops the scan before it starts (a one-time filter).
CREATE FUNCTION authlog.scoped_auth_logs(caller bytea, tenant_id text)
RETURNS SETOF authlog.auth_logs
LANGUAGE sql STABLE PARALLEL RESTRICTED
BEGIN ATOMIC
	SELECT l.* FROM authlog.auth_logs l
	WHERE ((SELECT authlog.caller_reads_whole_tenant(scoped_auth_logs.caller, scoped_auth_logs.tenant_id))
	       OR (SELECT pg_catalog.cardinality(authlog.caller_organisations(scoped_auth_logs.caller, scoped_auth_logs.tenant_id)) > 0))
	  AND l.tenant_id = scoped_auth_logs.tenant_id
	  AND ((SELECT authlog.caller_reads_whole_tenant(scoped_auth_logs.caller, scoped_auth_logs.tenant_id))
	       OR l.organisation_id = ANY ((SELECT authlog.caller_organisations(scoped_auth_logs.caller, scoped_auth_logs.tenant_id))::text[]));
END;
COMMENT ON FUNCTION authlog.scoped_auth_logs(bytea, text) IS
	'The events of a tenant the proven caller may read: what every reader function reads instead of authlog.auth_logs.';

-- A seal covers a whole tenant: only tenant-wide readers see it.
CREATE FUNCTION authlog.scoped_seals(caller bytea, tenant_id text)
RETURNS SETOF authlog.seals
LANGUAGE sql STABLE PARALLEL RESTRICTED
BEGIN ATOMIC
	SELECT s.* FROM authlog.seals s
	WHERE (SELECT authlog.caller_reads_whole_tenant(scoped_seals.caller, scoped_seals.tenant_id))
	  AND s.tenant_id = scoped_seals.tenant_id;
END;
COMMENT ON FUNCTION authlog.scoped_seals(bytea, text) IS
	'The seals of a tenant, for a caller that reads the whole tenant; none otherwise.';

CREATE FUNCTION authlog.scoped_seal_members(caller bytea, tenant_id text)
RETURNS SETOF authlog.seal_members
LANGUAGE sql STABLE PARALLEL RESTRICTED
BEGIN ATOMIC
	SELECT m.* FROM authlog.seal_members m
	WHERE (SELECT authlog.caller_reads_whole_tenant(scoped_seal_members.caller, scoped_seal_members.tenant_id))
	  AND m.tenant_id = scoped_seal_members.tenant_id;
END;
COMMENT ON FUNCTION authlog.scoped_seal_members(bytea, text) IS
	'Which seal lists each event of a tenant, for a caller that reads the whole tenant; none otherwise.';

-- The investigation functions: the same questions and answers as 1.0, as
-- definers over the caller's scope.  Their signatures gain the caller
-- argument, so they were dropped above (with auth_logs' old table) and are
-- made again (grants follow below).

CREATE FUNCTION authlog.incident_timeline(
	tenant_id text,
	since timestamptz,
	until timestamptz,
	user_id text DEFAULT NULL,
	ip_address inet DEFAULT NULL,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.timeline_entry
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	-- (1.1) the account the tenant's rule names, whatever the spelling asked for
	user_id := authlog.account_key(tenant_id, user_id);
	RETURN QUERY
	-- A definer's body is planned without the arguments' values, so each way
	-- of asking is its own branch, bounded by its own index; the others stop
	-- at their one-time filters.
	SELECT e.* FROM (
		SELECT l.occurred_at, l.event_type, l.user_id, l.organisation_id, l.ip_address,
		       l.user_agent, l.auth_path, l.decision, l.reason, l.actor,
		       l.failed_login_attempts, l.account_locked_until,
		       coalesce(l.account_locked_until > l.recorded_at, false),
		       l.log_id, l.recorded_at, l.metadata
		FROM authlog.scoped_auth_logs(incident_timeline.caller, incident_timeline.tenant_id) l
		WHERE incident_timeline.user_id IS NOT NULL
		  AND l.user_id = incident_timeline.user_id
		  AND l.occurred_at >= incident_timeline.since
		  AND l.occurred_at < incident_timeline.until
		  AND (incident_timeline.ip_address IS NULL OR l.ip_address = incident_timeline.ip_address)
		UNION ALL
		SELECT l.occurred_at, l.event_type, l.user_id, l.organisation_id, l.ip_address,
		       l.user_agent, l.auth_path, l.decision, l.reason, l.actor,
		       l.failed_login_attempts, l.account_locked_until,
		       coalesce(l.account_locked_until > l.recorded_at, false),
		       l.log_id, l.recorded_at, l.metadata
		FROM authlog.scoped_auth_logs(incident_timeline.caller, incident_timeline.tenant_id) l
		WHERE incident_timeline.user_id IS NULL AND incident_timeline.ip_address IS NOT NULL
		  AND l.ip_address = incident_timeline.ip_address
		  AND l.occurred_at >= incident_timeline.since
		  AND l.occurred_at < incident_timeline.until
		UNION ALL
		SELECT l.occurred_at, l.event_type, l.user_id, l.organisation_id, l.ip_address,
		       l.user_agent, l.auth_path, l.decision, l.reason, l.actor,
		       l.failed_login_attempts, l.account_locked_until,
		       coalesce(l.account_locked_until > l.recorded_at, false),
		       l.log_id, l.recorded_at, l.metadata
		FROM authlog.scoped_auth_logs(incident_timeline.caller, incident_timeline.tenant_id) l
		WHERE incident_timeline.user_id IS NULL AND incident_timeline.ip_address IS NULL
		  AND l.occurred_at >= incident_timeline.since
		  AND l.occurred_at < incident_timeline.until
	) e (occurred_at, event_type, user_id, organisation_id, ip_address, user_agent, auth_path,
	     decision, reason, actor, failed_login_attempts, account_locked_until, locked,
	     log_id, recorded_at, metadata)
	ORDER BY e.occurred_at, e.recorded_at, authlog.event_rank(e.event_type, e.reason), e.log_id;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(incident_timeline.caller, 'incident_timeline',
		pg_catalog.jsonb_build_object('tenant_id', incident_timeline.tenant_id, 'since', incident_timeline.since, 'until', incident_timeline.until, 'user_id', incident_timeline.user_id, 'ip_address', incident_timeline.ip_address), returned);
END
$$;
COMMENT ON FUNCTION authlog.incident_timeline(text, timestamptz, timestamptz, text, inet, bytea) IS
	'Every event of a tenant in [since, until), optionally of one account and/or one IP address, in order, with the failure count and lock state after each.';

CREATE FUNCTION authlog.targeted_accounts(tenant_id text, since timestamptz, until timestamptz,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.targeted_account
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	RETURN QUERY
	SELECT l.user_id, l.organisation_id,
	       count(*) FILTER (WHERE l.event_type = 'login_failed'),
	       count(*) FILTER (WHERE l.event_type = 'login_failed' AND l.reason = 'account_locked'),
	       count(DISTINCT l.ip_address) FILTER (WHERE l.event_type = 'login_failed'),
	       count(*) FILTER (WHERE l.event_type = 'account_locked'),
	       min(l.occurred_at) FILTER (WHERE l.event_type IN ('login_failed', 'login_success')),
	       max(l.occurred_at) FILTER (WHERE l.event_type IN ('login_failed', 'login_success')),
	       coalesce(max(l.occurred_at) FILTER (WHERE l.event_type = 'login_success')
	                           > min(l.occurred_at) FILTER (WHERE l.event_type = 'login_failed'), false)
	FROM authlog.scoped_auth_logs(targeted_accounts.caller, targeted_accounts.tenant_id) l
	WHERE l.tenant_id = targeted_accounts.tenant_id
	  AND l.occurred_at >= targeted_accounts.since
	  AND l.occurred_at < targeted_accounts.until
	GROUP BY l.organisation_id, l.user_id
	HAVING count(*) FILTER (WHERE l.event_type = 'login_failed') > 0
	ORDER BY 3 DESC, l.user_id, l.organisation_id;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(targeted_accounts.caller, 'targeted_accounts',
		pg_catalog.jsonb_build_object('tenant_id', targeted_accounts.tenant_id, 'since', targeted_accounts.since, 'until', targeted_accounts.until), returned);
END
$$;
COMMENT ON FUNCTION authlog.targeted_accounts(text, timestamptz, timestamptz, bytea) IS
	'One row per account with failed attempts in [since, until): failures, distinct IPs, lockouts, first and last attempt, and whether a success followed the failures; most failures first.';

CREATE FUNCTION authlog.attacking_ips(tenant_id text, since timestamptz, until timestamptz,
									  min_failures integer DEFAULT 10,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.attacking_source
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	RETURN QUERY
	WITH e AS (
		SELECT l.ip_address AS address,
		       pg_catalog.network(pg_catalog.set_masklen(l.ip_address,
		           CASE pg_catalog.family(l.ip_address) WHEN 4 THEN 24 ELSE 64 END))::inet AS network,
		       l.event_type, l.user_id, l.occurred_at
		FROM authlog.scoped_auth_logs(attacking_ips.caller, attacking_ips.tenant_id) l
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
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(attacking_ips.caller, 'attacking_ips',
		pg_catalog.jsonb_build_object('tenant_id', attacking_ips.tenant_id, 'since', attacking_ips.since, 'until', attacking_ips.until, 'min_failures', attacking_ips.min_failures), returned);
END
$$;
COMMENT ON FUNCTION authlog.attacking_ips(text, timestamptz, timestamptz, integer, bytea) IS
	'One row per IP address, and per /24 (IPv4) or /64 (IPv6) network of several addresses, with at least min_failures failed attempts in [since, until): failures, accounts tried, successes, lockouts caused; the credential-stuffing signature.';

CREATE FUNCTION authlog.success_after_failures(tenant_id text, since timestamptz, until timestamptz,
											   min_failures integer DEFAULT 3,
											   within interval DEFAULT '1 hour',
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.likely_compromise
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	RETURN QUERY
	SELECT s.user_id, s.organisation_id, s.occurred_at, s.ip_address, s.user_agent, s.log_id,
	       f.failures, f.failure_ips, f.first_failure_at, f.last_failure_at,
	       coalesce(s.ip_address = ANY (f.failure_ips), false)
	FROM authlog.scoped_auth_logs(success_after_failures.caller, success_after_failures.tenant_id) s
	CROSS JOIN LATERAL (
		SELECT max(p.occurred_at) AS previous_success
		FROM authlog.scoped_auth_logs(success_after_failures.caller, success_after_failures.tenant_id) p
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
		FROM authlog.scoped_auth_logs(success_after_failures.caller, success_after_failures.tenant_id) x
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
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(success_after_failures.caller, 'success_after_failures',
		pg_catalog.jsonb_build_object('tenant_id', success_after_failures.tenant_id, 'since', success_after_failures.since, 'until', success_after_failures.until, 'min_failures', success_after_failures.min_failures, 'within', success_after_failures.within), returned);
END
$$;
COMMENT ON FUNCTION authlog.success_after_failures(text, timestamptz, timestamptz, integer, interval, bytea) IS
	'One row per successful login in [since, until) that followed at least min_failures failures of the same account within `within` (counted since its previous success), with the failures'' IPs and whether the success came from one of them: the likely compromises.';

CREATE FUNCTION authlog.lockout_trace(tenant_id text, user_id text, at timestamptz DEFAULT pg_catalog.now(),
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.lockout_trace_entry
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	-- (1.1) the account the tenant's rule names, whatever the spelling asked for
	user_id := authlog.account_key(tenant_id, user_id);
	RETURN QUERY
	WITH lock AS (
		SELECT k.tenant_id, k.user_id, k.log_id, k.occurred_at, k.account_locked_until
		FROM authlog.scoped_auth_logs(lockout_trace.caller, lockout_trace.tenant_id) k
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
			FROM authlog.scoped_auth_logs(lockout_trace.caller, lockout_trace.tenant_id) x
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
	       AND NOT EXISTS (SELECT 1 FROM authlog.scoped_auth_logs(lockout_trace.caller, lockout_trace.tenant_id) r
	                       WHERE r.tenant_id = lock.tenant_id
	                         AND r.user_id = lock.user_id
	                         AND r.event_type = 'lockout_reset'
	                         AND r.occurred_at >= lock.occurred_at
	                         AND r.occurred_at <= lockout_trace.at
	                         AND r.log_id <> lock.log_id)
	FROM before_lock b, lock
	WHERE b.back <= (SELECT min(s.back) FROM before_lock s WHERE s.failed_login_attempts = 1)
	ORDER BY b.back DESC;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(lockout_trace.caller, 'lockout_trace',
		pg_catalog.jsonb_build_object('tenant_id', lockout_trace.tenant_id, 'user_id', lockout_trace.user_id, 'at', lockout_trace.at), returned);
END
$$;
COMMENT ON FUNCTION authlog.lockout_trace(text, text, timestamptz, bytea) IS
	'The failures (IP, user agent, path, time) that led to the account''s lockout in force at `at`, or else to its latest lockout before `at`, first failure first.';

CREATE FUNCTION authlog.compliance_report(tenant_id text, since timestamptz, until timestamptz,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.compliance_day
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	RETURN QUERY
	SELECT (l.occurred_at AT TIME ZONE 'UTC')::date, l.event_type,
	       count(*), count(DISTINCT l.user_id), count(DISTINCT l.ip_address),
	       count(*) FILTER (WHERE l.event_type = 'account_locked'),
	       count(*) FILTER (WHERE l.event_type = 'lockout_reset'),
	       count(*) FILTER (WHERE l.event_type = 'lockout_reset' AND l.reason = 'admin'),
	       coalesce(array_agg(DISTINCT l.actor ORDER BY l.actor) FILTER (WHERE l.actor IS NOT NULL), '{}')
	FROM authlog.scoped_auth_logs(compliance_report.caller, compliance_report.tenant_id) l
	WHERE l.tenant_id = compliance_report.tenant_id
	  AND l.occurred_at >= compliance_report.since
	  AND l.occurred_at < compliance_report.until
	GROUP BY GROUPING SETS (((l.occurred_at AT TIME ZONE 'UTC')::date, l.event_type),
	                        ((l.occurred_at AT TIME ZONE 'UTC')::date))
	ORDER BY 1, 2 NULLS LAST;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(compliance_report.caller, 'compliance_report',
		pg_catalog.jsonb_build_object('tenant_id', compliance_report.tenant_id, 'since', compliance_report.since, 'until', compliance_report.until), returned);
END
$$;
COMMENT ON FUNCTION authlog.compliance_report(text, timestamptz, timestamptz, bytea) IS
	'Audit evidence per day (UTC) and event type in [since, until), with a row for the whole day: events, distinct users and IPs, lockouts, resets, admin resets and who reset.';

CREATE FUNCTION authlog.export_events(tenant_id text, since timestamptz, until timestamptz,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.exported_event
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	RETURN QUERY
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
	            THEN (SELECT pg_catalog.to_jsonb(s) FROM authlog.scoped_seals(export_events.caller, export_events.tenant_id) s
	                  WHERE s.tenant_id = l.tenant_id AND s.seal_no = m.seal_no)
	       END
	FROM authlog.scoped_auth_logs(export_events.caller, export_events.tenant_id) l
	LEFT JOIN authlog.scoped_seal_members(export_events.caller, export_events.tenant_id) m ON m.tenant_id = l.tenant_id AND m.log_id = l.log_id
	WHERE l.tenant_id = export_events.tenant_id
	  AND l.occurred_at >= export_events.since
	  AND l.occurred_at < export_events.until
	WINDOW w AS (ORDER BY l.occurred_at, l.recorded_at, authlog.event_rank(l.event_type, l.reason), l.log_id
	             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
	ORDER BY 1;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(export_events.caller, 'export_events',
		pg_catalog.jsonb_build_object('tenant_id', export_events.tenant_id, 'since', export_events.since, 'until', export_events.until), returned);
END
$$;
COMMENT ON FUNCTION authlog.export_events(text, timestamptz, timestamptz, bytea) IS
	'Every event of a tenant in [since, until) in a stable order (occurred_at, recorded_at, event_rank, log_id), each with its canonical text, the running SHA-256 digest of the export so far (the last digest fixes the whole set), its event digest and the seal that covers it: a package an auditor checks without the database.';

CREATE TYPE authlog.polled_event AS (
	position text,
	log_id uuid,
	occurred_at timestamptz,
	recorded_at timestamptz,
	event_type authlog.event_type,
	organisation_id text,
	user_id text,
	ip_address inet,
	user_agent text,
	auth_path authlog.auth_path,
	decision text,
	reason text,
	actor text,
	failed_login_attempts integer,
	account_locked_until timestamptz,
	metadata jsonb
);
COMMENT ON TYPE authlog.polled_event IS
	'One event of poll_events, with its position: pass the last position of a page as after to get the next.';

CREATE FUNCTION authlog.poll_events(
	tenant_id text,
	after text DEFAULT NULL,
	max_events integer DEFAULT 100,
	user_id text DEFAULT NULL,
	ip_network inet DEFAULT NULL,
	event_types authlog.event_type[] DEFAULT NULL,
	organisation_id text DEFAULT NULL,
	since timestamptz DEFAULT NULL,
	until timestamptz DEFAULT NULL,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.polled_event
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
	after_xact xid8 := '0';
	after_log uuid := '00000000-0000-0000-0000-000000000000';
BEGIN
	IF max_events IS NULL OR max_events < 1 OR max_events > 10000 THEN
		RAISE EXCEPTION 'max_events must be between 1 and 10000, not %', coalesce(max_events::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF after IS NOT NULL THEN
		BEGIN
			IF after !~ '^[0-9]+:[0-9a-f-]{36}$' THEN
				RAISE EXCEPTION USING ERRCODE = 'invalid_text_representation';
			END IF;
			after_xact := pg_catalog.split_part(after, ':', 1)::xid8;
			after_log := pg_catalog.split_part(after, ':', 2)::uuid;
		EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
			RAISE EXCEPTION 'invalid position "%"', after
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'Pass the position of the last event of the previous page as poll_events returned it, or NULL to start.';
		END;
	END IF;
	IF user_id IS NOT NULL THEN
		user_id := authlog.account_key(tenant_id, user_id);
	END IF;
	RETURN QUERY
	SELECT p.xact_id::text || ':' || p.log_id::text, l.log_id, l.occurred_at, l.recorded_at, l.event_type,
	       l.organisation_id, l.user_id, l.ip_address, l.user_agent, l.auth_path, l.decision, l.reason,
	       l.actor, l.failed_login_attempts, l.account_locked_until, l.metadata
	FROM authlog.event_ids p
	-- recorded_at: the one month's partition the event is in
	JOIN authlog.scoped_auth_logs(poll_events.caller, poll_events.tenant_id) l
	  ON l.tenant_id = p.tenant_id AND l.log_id = p.log_id AND l.recorded_at = p.recorded_at
	WHERE p.tenant_id = poll_events.tenant_id
	  AND (p.xact_id, p.log_id) > (after_xact, after_log)
	  -- every transaction older than the snapshot's xmin has ended
	  AND p.xact_id < pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())
	  AND (poll_events.user_id IS NULL OR l.user_id = poll_events.user_id)
	  AND (poll_events.ip_network IS NULL OR l.ip_address <<= poll_events.ip_network)
	  AND (poll_events.event_types IS NULL OR l.event_type = ANY (poll_events.event_types))
	  AND (poll_events.organisation_id IS NULL OR l.organisation_id = poll_events.organisation_id)
	  AND (poll_events.since IS NULL OR l.occurred_at >= poll_events.since)
	  AND (poll_events.until IS NULL OR l.occurred_at < poll_events.until)
	ORDER BY p.xact_id, p.log_id
	LIMIT max_events;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(poll_events.caller, 'poll_events',
		pg_catalog.jsonb_build_object('tenant_id', poll_events.tenant_id, 'after', poll_events.after, 'max_events', poll_events.max_events, 'user_id', poll_events.user_id, 'ip_network', poll_events.ip_network, 'event_types', poll_events.event_types, 'organisation_id', poll_events.organisation_id, 'since', poll_events.since, 'until', poll_events.until), returned);
END
$$;
COMMENT ON FUNCTION authlog.poll_events(text, text, integer, text, inet, authlog.event_type[], text, timestamptz, timestamptz, bytea) IS
	'The next events of a tenant the caller may read, in commit order, after a position (NULL: from the start), at most max_events, optionally filtered by user, network (an address or a CIDR), event types, organisation and when the events occurred ([since, until)). Following the last position returns every event exactly once, one committed late included: an event appears once every transaction older than it has ended.';

CREATE TYPE authlog.seal_proof AS (
	log_id uuid,
	status text,
	seal_no bigint,
	member_index integer,
	event_digest bytea,
	seal_digest bytea,
	anchor_root bytea
);
COMMENT ON TYPE authlog.seal_proof IS
	'What proves one event of a page against the seals: status sealed (seal_no, its position among the seal''s members from 0, the event digest the seal recorded, the seal''s digest and its cut''s anchor), unsealed (not yet sealed: committed within authlog.seal_interval), or unknown (no event of the tenant the caller may read has that id).';

CREATE FUNCTION authlog.seal_proofs(tenant_id text, log_ids uuid[], caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.seal_proof
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	IF NOT authlog.caller_reads_whole_tenant(seal_proofs.caller, seal_proofs.tenant_id) THEN
		RAISE EXCEPTION 'seal proofs need a reader of the whole tenant "%"', seal_proofs.tenant_id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'A seal lists the ids and digests of every organisation''s events of its tenant: proving a page with it would show an organisation''s reader the others''.',
			      HINT = 'Check the page with a tenant-wide grant or token, or trust the store''s copy.';
	END IF;
	RETURN QUERY
	SELECT i.log_id,
	       CASE WHEN l.log_id IS NULL THEN 'unknown' WHEN s.seal_no IS NULL THEN 'unsealed' ELSE 'sealed' END,
	       s.seal_no, (p.n - 1)::integer,
	       pg_catalog.substr(s.member_digests, ((p.n - 1) * 32 + 1)::integer, 32),
	       s.digest, s.anchor_root
	FROM pg_catalog.unnest(seal_proofs.log_ids) WITH ORDINALITY AS i(log_id, k)
	LEFT JOIN authlog.scoped_auth_logs(seal_proofs.caller, seal_proofs.tenant_id) l ON l.log_id = i.log_id
	LEFT JOIN authlog.scoped_seal_members(seal_proofs.caller, seal_proofs.tenant_id) m
	  ON l.log_id IS NOT NULL AND m.log_id = i.log_id
	LEFT JOIN authlog.scoped_seals(seal_proofs.caller, seal_proofs.tenant_id) s ON s.seal_no = m.seal_no
	LEFT JOIN LATERAL (SELECT u.n FROM pg_catalog.unnest(s.members) WITH ORDINALITY AS u(member, n)
	                   WHERE u.member = i.log_id LIMIT 1) p ON true
	ORDER BY i.k;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(seal_proofs.caller, 'seal_proofs',
		pg_catalog.jsonb_build_object('tenant_id', seal_proofs.tenant_id, 'log_ids', seal_proofs.log_ids), returned);
END
$$;
COMMENT ON FUNCTION authlog.seal_proofs(text, uuid[], bytea) IS
	'For the events of a page (their log_ids), what proves each against the seals: its seal, its position in it, the digest recorded, the seal''s digest and anchor; or why there is none (unsealed, unknown). Only for readers of the whole tenant: a seal lists every organisation''s events.';

-- verify_seals: 1.0's verifier becomes verify_tenant_seals, which only the
-- definer runs; verify_seals runs it for the tenants the caller reads whole.
DROP FUNCTION authlog.verify_seals(text, timestamptz);
--@ include 42_seal_verification.sql
COMMENT ON TYPE authlog.seal_check IS
	'One finding of verify_seals or verify_store_seals. status: ok, row_changed, row_deleted, row_added, back_dated, sealed_twice, seal_altered, seal_missing, retired (1.1: members a sealed retention record removed, one row per record), unsealed (committed longer ago than seal_interval + max_clock_skew and listed by no seal), sealing_paused (seal_interval is 0; how many events wait) and, against the store, seal_differs and refused (the store never took the event: it is in dead_letters, with the store''s reason).';
CREATE FUNCTION authlog.verify_seals(tenant_id text DEFAULT NULL, since timestamptz DEFAULT NULL,
                                     caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.seal_check
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	RETURN QUERY
	SELECT v.tenant_id, v.seal_no, v.seal_id, v.sealed_at, v.event_count, v.status, v.log_id, v.detail
	FROM (SELECT DISTINCT t.tenant_id
	      FROM (SELECT s.tenant_id FROM authlog.seals s WHERE verify_seals.tenant_id IS NULL
	            UNION ALL
	            -- (a tenant with events and no seal at all has events no seal lists)
	            SELECT l.tenant_id FROM authlog.auth_logs l WHERE verify_seals.tenant_id IS NULL
	            UNION ALL
	            SELECT verify_seals.tenant_id WHERE verify_seals.tenant_id IS NOT NULL) t
	      WHERE authlog.caller_reads_whole_tenant(verify_seals.caller, t.tenant_id)) r
	CROSS JOIN LATERAL authlog.verify_tenant_seals(r.tenant_id, verify_seals.since) WITH ORDINALITY v
	ORDER BY r.tenant_id, v.ordinality;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(verify_seals.caller, 'verify_seals',
		pg_catalog.jsonb_build_object('tenant_id', verify_seals.tenant_id, 'since', verify_seals.since), returned);
END
$$;
COMMENT ON FUNCTION authlog.verify_seals(text, timestamptz, bytea) IS
	'Recomputes every seal (of one tenant, or all the caller reads whole; of seals closed since a time, or all) from the rows in PostgreSQL: one ok row per intact seal, otherwise what broke (row_changed, row_deleted, row_added, back_dated, sealed_twice, seal_altered, seal_missing) and which row; (1.1) retired: one row per retention record that removed members of the seal.';

CREATE FUNCTION authlog.verify_tenant_store_seals(tenant_id text, since timestamptz DEFAULT NULL,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.seal_check
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	IF NOT authlog.caller_reads_whole_tenant(verify_tenant_store_seals.caller, verify_tenant_store_seals.tenant_id) THEN
		RAISE EXCEPTION 'verifying the store''s seals needs a reader of the whole tenant "%"', verify_tenant_store_seals.tenant_id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'A seal lists every organisation''s events of its tenant.';
	END IF;
	RETURN QUERY
	SELECT * FROM authlog.verify_store_seals(verify_tenant_store_seals.tenant_id, verify_tenant_store_seals.since);
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(verify_tenant_store_seals.caller, 'verify_tenant_store_seals',
		pg_catalog.jsonb_build_object('tenant_id', verify_tenant_store_seals.tenant_id, 'since', verify_tenant_store_seals.since), returned);
END
$$;
COMMENT ON FUNCTION authlog.verify_tenant_store_seals(text, timestamptz, bytea) IS
	'verify_store_seals for one tenant, for a reader of the whole tenant (a grant or a request): the seals and events of the document store''s copy checked as verify_seals checks PostgreSQL''s.';

-- What a reader is given: no table, the scope view, the metrics, the functions.
CREATE OR REPLACE FUNCTION authlog.reader_relations() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.reader_scope, authlog.stat_events, authlog.stat_outcomes';
COMMENT ON FUNCTION authlog.reader_relations() IS
	'The relations grant_reader gives SELECT on: the reader''s own scope and the metrics; no table.';

CREATE OR REPLACE FUNCTION authlog.reader_functions() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.lockout_status(text, text), '
	'authlog.incident_timeline(text, timestamptz, timestamptz, text, inet, bytea), '
	'authlog.targeted_accounts(text, timestamptz, timestamptz, bytea), '
	'authlog.attacking_ips(text, timestamptz, timestamptz, integer, bytea), '
	'authlog.success_after_failures(text, timestamptz, timestamptz, integer, interval, bytea), '
	'authlog.lockout_trace(text, text, timestamptz, bytea), '
	'authlog.compliance_report(text, timestamptz, timestamptz, bytea), '
	'authlog.export_events(text, timestamptz, timestamptz, bytea), '
	'authlog.poll_events(text, text, integer, text, inet, authlog.event_type[], text, timestamptz, timestamptz, bytea), '
	'authlog.seal_proofs(text, uuid[], bytea), '
	'authlog.access_entries(text, timestamptz, timestamptz, bytea), '
	'authlog.event_rank(authlog.event_type, text), '
	'authlog.event_canonical(authlog.auth_logs), '
	'authlog.sha256_chain_step(bytea, text), '
	'authlog.sha256_chain(text), '
	'authlog.event_digest(authlog.auth_logs), '
	'authlog.access_digest(authlog.access_log), '
	'authlog.seal_digest(authlog.seals), '
	'authlog.anchor_root(bytea, integer, integer, bytea), '
	'authlog.verify_seals(text, timestamptz, bytea), '
	'authlog.verify_tenant_store_seals(text, timestamptz, bytea), '
	'authlog.stat_events_readable(), '
	'authlog.stat_outcomes_readable()';
COMMENT ON FUNCTION authlog.reader_functions() IS
	'The functions grant_reader gives EXECUTE on: lockout_status, the investigation functions and what they call, the seals'' digests and verify_seals, and the metrics.';

-- The grant functions: a regrole prints as a quoted identifier already
-- (format's %I quoted "Acme Auditor" a second time), and a revoke takes back
-- only what that grant gave: a role that is also the auth service keeps the
-- schema and lockout_status, which grant_service gave it too.
CREATE OR REPLACE FUNCTION authlog.grant_service(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz) TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.reset_lockout(text, text, text, text, text, uuid, timestamptz) TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.lockout_status(text, text) TO %s', role);
END
$$;

CREATE OR REPLACE FUNCTION authlog.grant_reader(role regrole, tenant_id text, organisation_id text DEFAULT NULL)
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
	-- a stale row of the same OID is replaced: the grant is the named role's now
	DELETE FROM authlog.reader_grants g
	WHERE g.role OPERATOR(pg_catalog.=) grant_reader.role
	  AND g.role_name OPERATOR(pg_catalog.<>) grant_reader.role::pg_catalog.text;
	INSERT INTO authlog.reader_grants AS g (role, role_name, tenant_id, organisation_id)
		VALUES (grant_reader.role, grant_reader.role::pg_catalog.text, grant_reader.tenant_id,
		        grant_reader.organisation_id)
		ON CONFLICT DO NOTHING;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %s', role);
	EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', authlog.reader_relations(), role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %s', authlog.reader_functions(), role);
END
$$;

CREATE OR REPLACE FUNCTION authlog.revoke_reader(role regrole, tenant_id text DEFAULT NULL, organisation_id text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	is_service boolean;
	functions text := authlog.reader_functions();
BEGIN
	-- tenant_id NULL revokes every grant of the role
	DELETE FROM authlog.reader_grants g
	WHERE g.role OPERATOR(pg_catalog.=) revoke_reader.role
	  AND (revoke_reader.tenant_id IS NULL
		   OR (g.tenant_id OPERATOR(pg_catalog.=) revoke_reader.tenant_id
			   AND g.organisation_id IS NOT DISTINCT FROM revoke_reader.organisation_id));
	IF NOT EXISTS (SELECT 1 FROM authlog.reader_grants g
				   WHERE g.role OPERATOR(pg_catalog.=) revoke_reader.role) THEN
		-- what grant_service gave stays: the schema and lockout_status
		SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
		               WHERE p.oid OPERATOR(pg_catalog.=) 'authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz)'::pg_catalog.regprocedure
		                 AND a.grantee OPERATOR(pg_catalog.=) revoke_reader.role
		                 AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE')
		INTO is_service;
		IF is_service THEN
			functions := pg_catalog.replace(functions, 'authlog.lockout_status(text, text), ', '');
		END IF;
		EXECUTE pg_catalog.format('REVOKE SELECT ON %s FROM %s', authlog.reader_relations(), role);
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM %s', functions, role);
		IF NOT is_service THEN
			EXECUTE pg_catalog.format('REVOKE USAGE ON SCHEMA authlog FROM %s', role);
		END IF;
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION authlog.lockout_status(tenant_id text, user_id text)
RETURNS TABLE (failed_login_attempts integer, account_locked_until timestamptz, locked boolean)
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_lockout_status_1_1';
COMMENT ON FUNCTION authlog.lockout_status(text, text) IS
	'The account''s lockout state in force now (an unknown account, or one of an organisation the caller may not read: 0, NULL, false); no rows when the caller may not read the tenant.';
COMMENT ON FUNCTION authlog.revoke_reader(regrole, text, text) IS
	'Withdraws a reader grant (tenant_id NULL: all of the role''s grants); the reader privileges go with its last grant, and what grant_service gave the role stays.';

-- What a gateway is given: its requests, and as readers and the help desk
-- through them only (a gateway without a request reads nothing and resets
-- nothing).
CREATE FUNCTION authlog.grant_gateway(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM authlog.gateways g
	WHERE g.role OPERATOR(pg_catalog.=) grant_gateway.role
	  AND g.role_name OPERATOR(pg_catalog.<>) grant_gateway.role::pg_catalog.text;
	INSERT INTO authlog.gateways AS g (role, role_name)
		VALUES (grant_gateway.role, grant_gateway.role::pg_catalog.text)
		ON CONFLICT DO NOTHING;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.begin_request(text, text) TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.reset_lockout(text, text, text, text, text, uuid, timestamptz) TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION authlog.move_account(text, text, text, text, text) TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %s', authlog.gateway_records_routines(), role);
	EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', authlog.reader_relations(), role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %s', authlog.reader_functions(), role);
END
$$;
COMMENT ON FUNCTION authlog.grant_gateway(regrole) IS
	'Lets a role (the platform API''s) begin requests with callers'' tokens, and within them read, reset lockouts, move accounts and (1.1) manage retention and legal holds as the token''s scope allows: no table access, and nothing without a request.';

CREATE FUNCTION authlog.revoke_gateway(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM authlog.gateways g WHERE g.role OPERATOR(pg_catalog.=) revoke_gateway.role;
	EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION authlog.begin_request(text, text) FROM %s', role);
END
$$;
COMMENT ON FUNCTION authlog.revoke_gateway(regrole) IS
	'Withdraws grant_gateway(): the role can begin no request, so its reader and help-desk privileges reach nothing.';

-- The workers' slot table belongs to the sealer as much as to the mirror.
ALTER TABLE authlog.mirror_state RENAME TO worker_slots;
ALTER INDEX authlog.mirror_state_pkey RENAME TO worker_slots_pkey;
COMMENT ON TABLE authlog.worker_slots IS
	'The workers'' durable state per slot: a resync (copy of the tables to the store) pending for the mirror''s slot, or a backlog (rows its slot never decoded) pending for the sealer''s, survives a crash and is finished first.';

-- What holds authlog back: a transaction id kept open by any role (idle in
-- transaction, or a prepared transaction, which outlives restarts) holds
-- both slots' restart points, so WAL is retained until it ends; a prepared
-- transaction around record_login keeps the account's row locked, and its
-- logins wait.  PostgreSQL's own views, joined for the DBA
-- (doc/operations.md); the workers' status views name the oldest.
CREATE VIEW authlog.held_back AS
	SELECT 'wal'::text AS holds, a.pid, NULL::text AS prepared_gid, a.usename::text AS role_name,
	       a.datname::text AS database_name, a.xact_start AS since,
	       pg_catalog.age(a.backend_xid) AS xid_age,
	       pg_catalog.format('pid %s (role %s, %s)', a.pid, a.usename, a.state) AS held_by,
	       'keeps a transaction id open: both slots retain WAL written since it began, until it ends'::text AS detail
	FROM pg_catalog.pg_stat_activity a
	WHERE a.backend_xid IS NOT NULL AND a.backend_type OPERATOR(pg_catalog.=) 'client backend'
	  AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
	UNION ALL
	SELECT 'wal', NULL, p.gid, p.owner::text, p.database::text, p.prepared, pg_catalog.age(p.transaction),
	       pg_catalog.format('prepared transaction %L (role %s)', p.gid, p.owner),
	       'a prepared transaction keeps its transaction id, across restarts, until COMMIT PREPARED or ROLLBACK PREPARED: both slots retain WAL written since it began'
	FROM pg_catalog.pg_prepared_xacts p
	UNION ALL
	SELECT 'account', NULL, p.gid, p.owner::text, p.database::text, p.prepared, pg_catalog.age(p.transaction),
	       pg_catalog.format('prepared transaction %L (role %s)', p.gid, p.owner),
	       pg_catalog.format('holds the row lock of %s %s: its logins wait until the transaction is committed or rolled back',
	                         CASE WHEN k.n OPERATOR(pg_catalog.=) 1 THEN 'account' ELSE 'accounts' END, k.accounts)
	FROM pg_catalog.pg_prepared_xacts p
	CROSS JOIN LATERAL (
		SELECT pg_catalog.count(*) AS n,
		       pg_catalog.string_agg(l.tenant_id OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) l.user_id,
		                             ', ' ORDER BY l.tenant_id, l.user_id) AS accounts
		FROM authlog.account_lockouts l
		WHERE l.xmax::text OPERATOR(pg_catalog.=) p.transaction::text) k
	WHERE p.database OPERATOR(pg_catalog.=) pg_catalog.current_database() AND k.n OPERATOR(pg_catalog.>) 0;
COMMENT ON VIEW authlog.held_back IS
	'Transactions that hold authlog back: holds wal, a transaction id kept open (idle in transaction, or prepared), which keeps both slots from releasing WAL; holds account, a prepared transaction holding accounts'' row locks, whose logins wait. For administrators (pg_read_all_stats sees other roles'' sessions).';

DROP FUNCTION authlog.sealer_status();
CREATE FUNCTION authlog.sealer_worker_status(
	OUT slot_name text, OUT state text, OUT pid integer, OUT sealed_lsn pg_lsn,
	OUT last_cut_at timestamptz, OUT seals_written bigint, OUT events_sealed bigint,
	OUT last_error text, OUT last_error_at timestamptz, OUT anchors_failed bigint,
	OUT links_checked bigint, OUT links_broken bigint,
	OUT verified_at timestamptz, OUT verified_seals bigint, OUT verify_findings bigint)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_sealer_worker_status';
COMMENT ON FUNCTION authlog.sealer_worker_status() IS
	'What the sealer reports through shared memory; read authlog.sealer_status() instead.';

CREATE FUNCTION authlog.sealer_status(
	OUT slot_name text, OUT state text, OUT pid integer, OUT sealed_lsn pg_lsn,
	OUT last_cut_at timestamptz, OUT seals_written bigint, OUT events_sealed bigint,
	OUT last_error text, OUT last_error_at timestamptz, OUT anchors_failed bigint,
	OUT held_back_by text, OUT held_back_since timestamptz,
	OUT lag_seconds float8, OUT links_checked bigint, OUT links_broken bigint,
	OUT verified_at timestamptz, OUT verified_seals bigint, OUT verify_findings bigint)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT w.slot_name, w.state, w.pid, w.sealed_lsn, w.last_cut_at, w.seals_written, w.events_sealed,
	       w.last_error, w.last_error_at, w.anchors_failed, h.held_by, h.since,
	       extract(epoch FROM pg_catalog.now() OPERATOR(pg_catalog.-) w.last_cut_at)::float8,
	       w.links_checked, w.links_broken, w.verified_at, w.verified_seals, w.verify_findings
	FROM authlog.sealer_worker_status() w
	LEFT JOIN LATERAL (SELECT b.held_by, b.since FROM authlog.held_back b
	                   WHERE b.holds = 'wal' ORDER BY b.xid_age DESC LIMIT 1) h ON true;
END;
COMMENT ON FUNCTION authlog.sealer_status() IS
	'The sealer: its slot, state (starting, sealing, paused, backing_off), how far it has sealed, when it last cut, seals and events sealed since start, its last error, anchors whose NOTIFY could not be sent (1.1), the oldest transaction holding its slot back (1.1, see authlog.held_back), and (1.1) its lag (every event committed more than lag_seconds ago is sealed), the chain links its cuts checked and found broken, and the last scheduled full verification (authlog.seal_verify_interval): when, how many seals, how many findings.';

CREATE OR REPLACE VIEW authlog.mirror_status AS
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

--@ include 55_access_log.sql
--@ include 58_retention.sql
--@ include 65_monitoring.sql

SELECT pg_catalog.pg_extension_config_dump('authlog.trusted_issuers', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.gateways', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.access_log', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.records_log', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.retention_runs', '');

-- Nothing new is granted to PUBLIC but caller_proof(): a proof of one's own
-- role opens nothing by itself, and a role without a grant is then told it
-- may not call the reader function, not that it may not prove who it is.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA authlog FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA authlog FROM PUBLIC;
GRANT EXECUTE ON FUNCTION authlog.caller_proof() TO PUBLIC;
-- (1.1) reader_scope asks it for the querying role: it tells a session
-- only about its own transaction's request
GRANT EXECUTE ON FUNCTION authlog.request_scope(oid) TO PUBLIC;

-- Readers granted under 1.0: their table privileges go, the new functions come.
DO $$
DECLARE
	r regrole;
BEGIN
	-- (a stale grant's role may not exist: nothing to revoke, nothing to give)
	FOR r IN SELECT DISTINCT g.role FROM authlog.reader_grants g
	         WHERE g.role::pg_catalog.text OPERATOR(pg_catalog.=) g.role_name LOOP
		EXECUTE pg_catalog.format('REVOKE SELECT ON authlog.auth_logs, authlog.account_lockouts, '
		                          'authlog.seals, authlog.seal_members FROM %s', r);
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', authlog.reader_relations(), r);
		EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %s', authlog.reader_functions(), r);
	END LOOP;
END
$$;
