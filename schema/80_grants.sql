-- Grants ---------------------------------------------------------------------

CREATE FUNCTION authlog.grant_service(role regrole) RETURNS void
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
COMMENT ON FUNCTION authlog.grant_service(regrole) IS
	'Gives a role what the auth service needs (schema usage, EXECUTE on record_login, reset_lockout and lockout_status) and nothing else: no table access.';

-- What a reader is given, in one place for grant_reader and revoke_reader.
CREATE FUNCTION authlog.reader_relations() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.reader_scope, authlog.stat_events, authlog.stat_outcomes';
COMMENT ON FUNCTION authlog.reader_relations() IS
	'The relations grant_reader gives SELECT on: the reader''s own scope and the metrics; no table.';

CREATE FUNCTION authlog.reader_functions() RETURNS text
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
COMMENT ON FUNCTION authlog.grant_reader(regrole, text, text) IS
	'Lets a role read one tenant (organisation_id NULL: all of its organisations, otherwise that organisation only) through row-level security.';

CREATE FUNCTION authlog.revoke_reader(role regrole, tenant_id text DEFAULT NULL, organisation_id text DEFAULT NULL)
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

-- A grant stays with the role it was given to: a row whose role no longer
-- prints as the name it was granted to is stale, grants nothing, and is
-- listed and removed here.
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

-- Nothing is granted to PUBLIC (PostgreSQL grants EXECUTE on new functions
-- by default) but caller_proof(): a proof of one's own role opens nothing by
-- itself, and a role without a grant is then told it may not call the reader
-- function, not that it may not prove who it is.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA authlog FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA authlog FROM PUBLIC;
REVOKE ALL ON SCHEMA authlog FROM PUBLIC;
GRANT EXECUTE ON FUNCTION authlog.caller_proof() TO PUBLIC;
-- (1.1) reader_scope asks it for the querying role: it tells a session
-- only about its own transaction's request
GRANT EXECUTE ON FUNCTION authlog.request_scope(oid) TO PUBLIC;

-- pg_dump carries the audit trail, not just the settings.
SELECT pg_catalog.pg_extension_config_dump('authlog.auth_logs', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.account_lockouts', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.lockout_policies', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.reader_grants', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.seals', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.seal_members', '');
-- (1.1; in the order an update from 1.0 registers them)
SELECT pg_catalog.pg_extension_config_dump('authlog.event_ids', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.account_organisations', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.tenant_settings', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.trusted_issuers', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.gateways', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.access_log', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.records_log', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.retention_runs', '');
SELECT pg_catalog.pg_extension_config_dump('authlog.auth_logs_default', '');
