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
	occurred_at timestamptz DEFAULT NULL)
RETURNS authlog.login_decision
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_record_login_1_1';
COMMENT ON FUNCTION authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz) IS
	'Records one login attempt and applies the tenant''s lockout policy in the same transaction; returns the decision the caller must obey. The same log_id with the same arguments is a retry and returns the recorded decision; with any other argument it is refused (SQLSTATE LA001).';

CREATE FUNCTION authlog.reset_lockout(
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

CREATE FUNCTION authlog.lockout_status(tenant_id text, user_id text)
RETURNS TABLE (failed_login_attempts integer, account_locked_until timestamptz, locked boolean)
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_lockout_status_1_1';
COMMENT ON FUNCTION authlog.lockout_status(text, text) IS
	'The account''s lockout state in force now (an unknown account, or one of an organisation the caller may not read: 0, NULL, false); no rows when the caller may not read the tenant.';

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

-- An account belongs to the organisation it was first recorded in
-- (doc/security.md): a call naming another is refused with SQLSTATE LA002
-- and writes nothing; move_account is the explicit, recorded move.
CREATE FUNCTION authlog.move_account(tenant_id text, user_id text, to_organisation text,
                                     actor text, reason text DEFAULT NULL)
RETURNS uuid
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authlog_move_account';
COMMENT ON FUNCTION authlog.move_account(text, text, text, text, text) IS
	'Moves an account, with its failures and lock, to another organisation of its tenant: records an account_moved event in each organisation (reason moved_out and moved_in, the actor, the note) and returns the id of the new organisation''s. Superusers only unless granted.';

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
