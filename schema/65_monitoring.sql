-- Monitoring (1.1) ---------------------------------------------------------------
-- What the security dashboard's Prometheus reads through authlog-api
-- (doc/monitoring.md): the write path's outcomes beside its events, from
-- shared memory, and the sources attacking each tenant now.  A monitoring
-- role is given these with grant_monitor(); it reads no table and no event.

CREATE FUNCTION authlog.stat_outcomes_readable(
	OUT tenant_id text, OUT organisation_id text, OUT outcome text,
	OUT total bigint, OUT last_minute bigint, OUT last_hour bigint,
	OUT stats_reset timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_stat_outcomes';
COMMENT ON FUNCTION authlog.stat_outcomes_readable() IS
	'The shared-memory outcome counters of the tenants and organisations the caller may read (all of them for members of pg_read_all_stats); read authlog.stat_outcomes instead.';

CREATE VIEW authlog.stat_outcomes AS
	SELECT s.tenant_id, s.organisation_id, s.outcome, s.total, s.last_minute, s.last_hour, s.stats_reset
	FROM authlog.stat_outcomes_readable() s;
COMMENT ON VIEW authlog.stat_outcomes IS
	'What the committed calls of the write path decided and did, per tenant, organisation and outcome, since the last stat_reset, in the last minute and in the last hour (retries not counted): record_login''s decisions (allowed, failed, locked), attempts refused by a lock in force (refused_while_locked), help-desk unlocks by reset_lockout (helpdesk_unlock), and successes after at least authlog.success_after_failures_min failures or an expired lock (success_after_failures). From shared memory; shows only what the caller may read.';

CREATE TYPE authlog.attack_source AS (
	tenant_id text,
	network cidr,
	addresses bigint,
	failures bigint,
	accounts bigint,
	successes bigint,
	last_seen timestamptz
);
COMMENT ON TYPE authlog.attack_source IS
	'One network of attack_sources: an IPv4 /24 or IPv6 /64, how many of its addresses were seen, its failed attempts, the distinct accounts they tried, its successful logins, and its last attempt.';

CREATE FUNCTION authlog.attack_sources(recent interval DEFAULT '5 minutes', top integer DEFAULT 5,
                                       min_failures integer DEFAULT 10,
                                       caller bytea DEFAULT authlog.caller_proof())
RETURNS SETOF authlog.attack_source
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	IF NOT pg_catalog.pg_has_role(authlog.proven_caller(attack_sources.caller), 'pg_read_all_stats', 'USAGE') THEN
		RAISE EXCEPTION 'attack_sources is for monitoring roles'
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'A superuser gives a role what monitoring needs with SELECT authlog.grant_monitor(''role'').';
	END IF;
	IF recent IS NULL OR recent <= interval '0' OR recent > interval '1 day' THEN
		RAISE EXCEPTION 'recent must be more than 0 and at most 1 day, not %', coalesce(recent::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'The figures are of the last minutes: the dashboard''s window, not an investigation''s.';
	END IF;
	IF top IS NULL OR top < 1 OR top > 100 THEN
		RAISE EXCEPTION 'top must be between 1 and 100, not %', coalesce(top::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Each network is a series in the monitoring system: keep it small.';
	END IF;
	IF min_failures IS NULL OR min_failures < 1 THEN
		RAISE EXCEPTION 'min_failures must be at least 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	-- the tenants, one index probe each (a loose scan of auth_logs_tenant_time)
	WITH RECURSIVE tenants(tenant_id) AS (
		SELECT min(l.tenant_id) FROM authlog.auth_logs l
		UNION ALL
		SELECT (SELECT min(l.tenant_id) FROM authlog.auth_logs l WHERE l.tenant_id > t.tenant_id)
		FROM tenants t WHERE t.tenant_id IS NOT NULL
	)
	SELECT r.tenant_id, r.network, r.addresses, r.failures, r.accounts, r.successes, r.last_seen
	FROM tenants t
	CROSS JOIN LATERAL (
		SELECT t.tenant_id,
		       pg_catalog.network(pg_catalog.set_masklen(l.ip_address,
		           CASE pg_catalog.family(l.ip_address) WHEN 4 THEN 24 ELSE 64 END)) AS network,
		       count(DISTINCT l.ip_address) AS addresses,
		       count(*) FILTER (WHERE l.event_type = 'login_failed') AS failures,
		       count(DISTINCT l.user_id) FILTER (WHERE l.event_type = 'login_failed') AS accounts,
		       count(*) FILTER (WHERE l.event_type = 'login_success') AS successes,
		       max(l.occurred_at) AS last_seen
		FROM authlog.auth_logs l
		WHERE l.tenant_id = t.tenant_id
		  AND l.occurred_at >= pg_catalog.now() - attack_sources.recent
		  AND l.ip_address IS NOT NULL
		  AND l.event_type IN ('login_failed', 'login_success')
		GROUP BY 2
		HAVING count(*) FILTER (WHERE l.event_type = 'login_failed') >= attack_sources.min_failures
		ORDER BY 4 DESC, 2
		LIMIT attack_sources.top
	) r
	WHERE t.tenant_id IS NOT NULL
	ORDER BY r.tenant_id, r.failures DESC, r.network;
END
$$;
COMMENT ON FUNCTION authlog.attack_sources(interval, integer, integer, bytea) IS
	'For monitoring roles (members of pg_read_all_stats, see grant_monitor): per tenant, the top networks (IPv4 /24, IPv6 /64) by failed attempts in the last `recent`, with at least min_failures: the one place the metrics name a source, bounded by tenants times top. Reads no single event out; not written to the access log (a scrape every few seconds would drown it).';

CREATE FUNCTION authlog.monitor_functions() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.mirror_worker_status(), authlog.sealer_worker_status(), authlog.sealer_status(), '
	'authlog.attack_sources(interval, integer, integer, bytea)';
COMMENT ON FUNCTION authlog.monitor_functions() IS
	'The functions grant_monitor gives EXECUTE on beside the counters (which readers have too), and revoke_monitor takes back: the workers'' status and attack_sources.';

CREATE FUNCTION authlog.grant_monitor(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %s', role);
	EXECUTE pg_catalog.format('GRANT SELECT ON authlog.stat_events, authlog.stat_outcomes, '
	                          'authlog.mirror_status, authlog.held_back TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE authlog.stat_events_readable(), '
	                          'authlog.stat_outcomes_readable(), %s TO %s', authlog.monitor_functions(), role);
	EXECUTE pg_catalog.format('GRANT pg_read_all_stats TO %s', role);
END
$$;
COMMENT ON FUNCTION authlog.grant_monitor(regrole) IS
	'Gives a monitoring role (the platform API''s, for its /metrics) the counters of every tenant, the mirror''s and sealer''s status and attack_sources: pg_read_all_stats and EXECUTE on those, no table and no event.';

CREATE FUNCTION authlog.revoke_monitor(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM %s', authlog.monitor_functions(), role);
	EXECUTE pg_catalog.format('REVOKE SELECT ON authlog.mirror_status, authlog.held_back FROM %s', role);
	EXECUTE pg_catalog.format('REVOKE pg_read_all_stats FROM %s', role);
	-- the counters stay with a reader's or a gateway's grants
	IF NOT EXISTS (SELECT 1 FROM authlog.reader_grants g WHERE g.role OPERATOR(pg_catalog.=) revoke_monitor.role)
	   AND NOT EXISTS (SELECT 1 FROM authlog.gateways g WHERE g.role OPERATOR(pg_catalog.=) revoke_monitor.role) THEN
		EXECUTE pg_catalog.format('REVOKE SELECT ON authlog.stat_events, authlog.stat_outcomes FROM %s', role);
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE authlog.stat_events_readable(), '
		                          'authlog.stat_outcomes_readable() FROM %s', role);
	END IF;
END
$$;
COMMENT ON FUNCTION authlog.revoke_monitor(regrole) IS
	'Withdraws grant_monitor(): pg_read_all_stats, the workers'' status, attack_sources, and the counters unless the role is a reader or a gateway (then they show what its grants cover); schema usage stays.';
