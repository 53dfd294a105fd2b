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
	-- (1.1) a key of a partitioned table holds its partition key; the
	-- unique key of an event, (tenant_id, log_id), is event_ids'
	PRIMARY KEY (tenant_id, log_id, recorded_at)
) PARTITION BY RANGE (recorded_at);
-- No CHECK constraints: the write functions validate every value before they
-- insert (ids of 1 to 256 characters, decision allowed/failed/locked), and a
-- CHECK would be re-parsed by every INSERT on the login path.
COMMENT ON COLUMN authlog.auth_logs.occurred_at IS
	'When the caller says the event happened; evidence only, never used to judge windows or locks.';
COMMENT ON COLUMN authlog.auth_logs.recorded_at IS
	'The call''s time, read once it held the account''s row lock (never before the account''s last update): the clock every lockout rule is measured with.';
COMMENT ON COLUMN authlog.auth_logs.metadata IS
	'The caller''s JSON object as given; the extension''s own notes live under the key "authlog".';
COMMENT ON COLUMN authlog.auth_logs.reason IS
	'account_locked for an attempt refused by a lock; login_success, expired or admin for a lockout_reset; NULL otherwise.';
COMMENT ON COLUMN authlog.auth_logs.decision IS
	'On attempt rows, what the caller was told: allowed, failed or locked. NULL on derived events.';
COMMENT ON COLUMN authlog.auth_logs.retry_count IS
	'How many times the same (tenant_id, log_id) was submitted again; bookkeeping, not evidence.';


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
-- (1.1) Room on each page for a row's next version: every failure updates its
-- account's row, and an update on a full page is not HOT (a new primary key
-- entry each time: callgrind, doc/performance.md)
ALTER TABLE authlog.account_lockouts SET (fillfactor = 70);
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

-- How user ids name accounts, per tenant: exact (the default), casefold
-- (surrounding white space trimmed, Unicode lower case by the ICU root
-- collation: the C collation folds ASCII only) or nfkc_casefold (NFKC first).
-- The account's key is the user_id of its rows; the spelling a call sent is
-- kept on its events as metadata.authlog.user_id_as_sent (doc/security.md).
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

CREATE TABLE authlog.reader_grants (
	role regrole NOT NULL,
	tenant_id text NOT NULL,
	organisation_id text,
	granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	role_name text NOT NULL,
	UNIQUE NULLS NOT DISTINCT (role, tenant_id, organisation_id)
);
COMMENT ON TABLE authlog.reader_grants IS
	'Which roles may read which tenant (organisation_id NULL: every organisation of it); maintained by grant_reader and revoke_reader.';
COMMENT ON COLUMN authlog.reader_grants.role_name IS
	'The role''s name when it was granted: a row whose role no longer prints as this name (dropped, renamed, or an OID reused) is stale and grants nothing.';

-- What the current role may read, by its reader grants or (1.1) its
-- request: owned by the extension, so it can read reader_grants, while
-- current_user remains the querying role.  A grant
-- whose role no longer prints as the name it was granted to (dropped,
-- renamed, or its OID reused) is stale and grants nothing.
CREATE VIEW authlog.reader_scope WITH (security_barrier) AS
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
COMMENT ON VIEW authlog.reader_scope IS
	'The tenants and organisations the current role may read; row-level security on the data tables is defined by it.';

-- Row-level security -------------------------------------------------------
-- Uncorrelated subqueries: each runs once per query and is probed as a hash
-- table, rather than once per row.

ALTER TABLE authlog.account_lockouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.account_lockouts FORCE ROW LEVEL SECURITY;


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
