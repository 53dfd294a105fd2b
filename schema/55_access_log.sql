-- Who watched the watchers (1.1) ------------------------------------------------
-- (doc/security.md, "Who watched the watchers")  Every read a gateway makes
-- for a request is appended here by the reader function itself, in the
-- request's transaction: which function, with what arguments, how many rows,
-- for whom (the token's subject, its organisations and roles, the request
-- id) and through which gateway role.  Append-only like auth_logs, mirrored
-- to the store, readable by the tenant's compliance role.

CREATE TABLE authlog.access_log (
	tenant_id text NOT NULL,
	access_id uuid NOT NULL,
	accessed_at timestamptz NOT NULL,
	subject text NOT NULL,
	request_id text,
	organisations text[],
	roles text[] NOT NULL,
	gateway text NOT NULL,
	function_name text NOT NULL,
	arguments jsonb NOT NULL,
	row_count bigint NOT NULL,
	PRIMARY KEY (tenant_id, access_id)
);
COMMENT ON TABLE authlog.access_log IS
	'Every read of a gateway''s request (authlog-api): the request''s tenant, an id (UUID v7), when, the token''s subject, the request id, its organisations (NULL: all) and roles, the gateway role, the reader function, its arguments and how many rows it returned. Written by the reader functions through note_access(); append-only; read with access_entries().';
ALTER TABLE authlog.access_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.access_log FORCE ROW LEVEL SECURITY;
CREATE TRIGGER access_log_append_only
	BEFORE UPDATE OR DELETE ON authlog.access_log
	FOR EACH ROW EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER access_log_no_truncate
	BEFORE TRUNCATE ON authlog.access_log
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.forbid_log_rewrite();

CREATE FUNCTION authlog.access_digest(entry authlog.access_log) RETURNS bytea
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_access_digest';
COMMENT ON FUNCTION authlog.access_digest(authlog.access_log) IS
	'SHA-256 of an access_log row as the store holds it (the digest form of doc/seals.md): what a seal records for it. The tenant''s seals list its reads beside its events.';

CREATE FUNCTION authlog.note_access(caller bytea, function_name text, arguments jsonb, row_count bigint)
RETURNS void
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_note_access';
COMMENT ON FUNCTION authlog.note_access(bytea, text, jsonb, bigint) IS
	'Called by every reader function as it returns: within a gateway''s request, appends the read to access_log and to the server log; otherwise does nothing. Granted to nobody.';

CREATE FUNCTION authlog.access_entries(tenant_id text, since timestamptz, until timestamptz,
	caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.access_log
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	returned bigint;
BEGIN
	-- a request needs compliance for the whole tenant; a reader role of the
	-- DBA's, a grant of the whole tenant
	IF NOT authlog.caller_reads_whole_tenant(access_entries.caller, access_entries.tenant_id)
	   OR EXISTS (SELECT 1 FROM authlog.request_scope(authlog.proven_caller(access_entries.caller)) r
	              WHERE NOT r.roles @> ARRAY['compliance']) THEN
		RAISE EXCEPTION 'the access log of tenant "%" is for its compliance role', access_entries.tenant_id
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Read it with a token that has the compliance role for the whole tenant.';
	END IF;
	RETURN QUERY
	SELECT a.* FROM authlog.access_log a
	WHERE a.tenant_id = access_entries.tenant_id
	  AND a.accessed_at >= access_entries.since AND a.accessed_at < access_entries.until
	ORDER BY a.accessed_at, a.access_id;
	GET DIAGNOSTICS returned = ROW_COUNT;
	PERFORM authlog.note_access(access_entries.caller, 'access_entries',
		pg_catalog.jsonb_build_object('tenant_id', access_entries.tenant_id, 'since', access_entries.since, 'until', access_entries.until), returned);
END
$$;
COMMENT ON FUNCTION authlog.access_entries(text, timestamptz, timestamptz, bytea) IS
	'The reads of a tenant''s evidence made through gateways in [since, until), oldest first: for its compliance role (a token with compliance for the whole tenant, or a reader of the whole tenant). Reading them is itself a read, and logged.';
