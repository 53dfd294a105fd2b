-- Readers' identity ------------------------------------------------------------
-- (doc/security.md, "From the identity provider to the row")  A gateway
-- (authlog-api) passes each caller's bearer token to begin_request(), which
-- checks its signature against the keys a superuser registered for its
-- issuer (src/jws.c, OpenSSL) and acts for it until the transaction ends;
-- the reader functions' scope and reader_scope honour the request as they
-- honour a reader grant.  No role but a superuser supplies keys.

CREATE TABLE authlog.trusted_issuers (
	issuer text PRIMARY KEY,
	jwks jsonb NOT NULL,
	audience text NOT NULL,
	claims text NOT NULL CHECK (claims IN ('claims', 'scope')),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_by text NOT NULL
);
COMMENT ON TABLE authlog.trusted_issuers IS
	'Identity providers whose tokens begin_request accepts: the issuer (the tokens'' iss), its public keys (a JWKS: EdDSA/Ed25519, ES256, RS256), the audience its tokens must name, and where their scope is (claims: tenant, organisations, roles; or scope: authlog:tenant:, authlog:org:, authlog:role: values). Written by trust_issuer(), superusers only.';
ALTER TABLE authlog.trusted_issuers ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.trusted_issuers FORCE ROW LEVEL SECURITY;

CREATE TABLE authlog.gateways (
	role regrole PRIMARY KEY,
	role_name text NOT NULL,
	granted_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE authlog.gateways IS
	'Roles that may call begin_request (the platform API''s database role), with the name they were granted under: a row whose role no longer prints as that name grants nothing. Written by grant_gateway() and revoke_gateway().';

CREATE TYPE authlog.request_identity AS (
	subject text,
	tenant_id text,
	organisations text[],
	roles text[],
	expires_at timestamptz,
	request_id text
);
COMMENT ON TYPE authlog.request_identity IS
	'Who a request acts for, from its verified token: subject (sub), one tenant, its organisations (NULL: every organisation of the tenant), its authlog roles (reader, helpdesk, compliance, operator, records_manager), when the token expires, and the gateway''s request id.';

CREATE FUNCTION authlog.check_jwks(jwks jsonb) RETURNS void
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'authlog_check_jwks';
COMMENT ON FUNCTION authlog.check_jwks(jsonb) IS
	'Raises an error naming the first key of a JWKS authlog cannot use (no kid, a duplicate kid, a private key, a kind other than Ed25519, P-256 or RSA of 2048 bits or more).';

CREATE FUNCTION authlog.trust_issuer(issuer text, jwks jsonb, audience text DEFAULT 'authlog',
                                     claims text DEFAULT 'claims')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false) THEN
		RAISE EXCEPTION 'only a superuser may register an issuer''s keys'
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Keys come from the DBA, never from the API''s role.';
	END IF;
	IF trust_issuer.issuer IS NULL OR trust_issuer.issuer = '' THEN
		RAISE EXCEPTION 'issuer must not be null or empty'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the iss value of the provider''s tokens.';
	END IF;
	IF trust_issuer.audience IS NULL OR trust_issuer.audience = '' THEN
		RAISE EXCEPTION 'audience must not be null or empty'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Tokens for authlog must name this audience in aud.';
	END IF;
	IF trust_issuer.claims IS NULL OR trust_issuer.claims NOT IN ('claims', 'scope') THEN
		RAISE EXCEPTION 'claims must be claims or scope, not %', coalesce(trust_issuer.claims, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF trust_issuer.jwks IS NULL THEN
		RAISE EXCEPTION 'jwks must not be null'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the provider''s JSON Web Key Set.';
	END IF;
	PERFORM authlog.check_jwks(trust_issuer.jwks);
	INSERT INTO authlog.trusted_issuers AS t (issuer, jwks, audience, claims, updated_at, updated_by)
		VALUES (trust_issuer.issuer, trust_issuer.jwks, trust_issuer.audience, trust_issuer.claims,
		        pg_catalog.now(), session_user)
		ON CONFLICT ON CONSTRAINT trusted_issuers_pkey DO UPDATE SET
			jwks = EXCLUDED.jwks, audience = EXCLUDED.audience, claims = EXCLUDED.claims,
			updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by;
END
$$;
COMMENT ON FUNCTION authlog.trust_issuer(text, jsonb, text, text) IS
	'Registers an identity provider''s public keys, or replaces them (rotation: publish the next key beside the current one first): superusers only.';

CREATE FUNCTION authlog.begin_request(token text, request_id text DEFAULT NULL)
RETURNS authlog.request_identity
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_begin_request';
COMMENT ON FUNCTION authlog.begin_request(text, text) IS
	'Verifies a bearer token (a signed JWT of a trusted issuer: signature, alg, kid, iss, aud, exp, nbf, sub, scope) and acts for it until the transaction ends; once per transaction, by a role granted with grant_gateway(). Refusals are SQLSTATE 28000, each with its own message.';

CREATE FUNCTION authlog.request_scope(role oid)
RETURNS TABLE (tenant_id text, organisations text[], roles text[], subject text)
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'authlog_request_scope';
COMMENT ON FUNCTION authlog.request_scope(oid) IS
	'The request begun in this transaction by the role (or a role it uses): one row, or none. What the readers'' scope checks consult.';
