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

-- The export's digest chain over the events' canonical texts (event_canonical,
-- in schema/22_event_functions.sql).
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
