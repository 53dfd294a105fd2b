-- Seal verification ------------------------------------------------------------
-- The verifier of one tenant's seals against PostgreSQL's rows, in a piece
-- of its own: the 1.0 -> 1.1 update creates it from here too.

-- Set-based: each seal's members are joined to the table once, each row
-- digested once.  Unsealed rows are judged against the tenant's last seal.
-- verify_tenant_seals reads every row, so only the definer runs it;
-- verify_seals runs it for the tenants the caller reads whole.
CREATE FUNCTION authlog.verify_tenant_seals(tenant_id text, since timestamptz)
RETURNS SETOF authlog.seal_check
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	skew_text text := pg_catalog.current_setting('authlog.max_clock_skew');
	skew interval := skew_text::interval;
	interval_text text := pg_catalog.current_setting('authlog.seal_interval');
	seal_every interval := interval_text::interval;
	t text;
BEGIN
	FOR t IN
		SELECT DISTINCT s.tenant_id FROM authlog.seals s
		WHERE verify_tenant_seals.tenant_id IS NULL OR s.tenant_id = verify_tenant_seals.tenant_id
		UNION
		SELECT DISTINCT l.tenant_id FROM authlog.auth_logs l
		WHERE verify_tenant_seals.tenant_id IS NOT NULL AND l.tenant_id = verify_tenant_seals.tenant_id
		ORDER BY 1
	LOOP
		RETURN QUERY
		WITH evidence AS NOT MATERIALIZED (
			-- what the tenant's seals cover: its events and (1.1) the reads of them
			SELECT e.log_id, e.occurred_at, e.recorded_at FROM authlog.auth_logs e WHERE e.tenant_id = t
			UNION ALL
			SELECT a.access_id, a.accessed_at, a.accessed_at FROM authlog.access_log a WHERE a.tenant_id = t
			UNION ALL
			SELECT r.record_id, r.recorded_at, r.recorded_at FROM authlog.records_log r WHERE r.tenant_id = t
		), retired AS (
			-- (1.1) the members each retirement record removed from its seal
			SELECT r.seal_no, x.log_id, r.record_id, r.recorded_at, r.reason
			FROM authlog.records_log r CROSS JOIN LATERAL pg_catalog.unnest(r.retired) AS x(log_id)
			WHERE r.tenant_id = t AND r.action = 'retired'
		), chain AS (
			SELECT s.*,
			       authlog.seal_digest(s) AS recomputed,
			       lag(s.seal_no) OVER w AS prev_no,
			       lag(s.digest) OVER w AS prev_digest,
			       lag(s.last_committed_at) OVER w AS prev_committed_at,
			       max(s.seal_no) FILTER (WHERE s.anchor_root IS NOT NULL)
			           OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_anchored
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
			            WHEN c.anchor_root IS NOT NULL
			             AND authlog.anchor_root(c.digest, c.anchor_index, c.anchor_size, c.anchor_path)
			                 IS DISTINCT FROM c.anchor_root
			                 THEN 'its audit path does not lead to its cut''s anchor'
			            WHEN c.anchor_root IS NULL AND c.last_anchored IS NOT NULL
			                 THEN pg_catalog.format('it has no anchor, though seal %s before it has one', c.last_anchored)
			       END AS altered
			FROM chain c
			WHERE verify_tenant_seals.since IS NULL OR c.last_committed_at >= verify_tenant_seals.since
		), sealed AS (
			SELECT m.log_id, s.seal_no FROM authlog.seals s, pg_catalog.unnest(s.members) AS m(log_id)
			WHERE s.tenant_id = t
		), sealed_twice AS (
			SELECT x.log_id, min(x.seal_no) AS first_seal FROM sealed x GROUP BY x.log_id HAVING count(*) > 1
		), member_problems AS (
			SELECT c.seal_no, m.log_id, m.n, rt.record_id, rt.recorded_at AS retired_at, rt.reason AS retired_why,
			       CASE WHEN l.log_id IS NULL AND rt.record_id IS NOT NULL THEN 'retired'
			            WHEN l.log_id IS NULL THEN 'row_deleted'
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
			LEFT JOIN LATERAL (
				SELECT e.log_id, e.occurred_at, authlog.event_digest(e) AS digest
				FROM authlog.auth_logs e WHERE e.tenant_id = t AND e.log_id = m.log_id
				UNION ALL
				SELECT a.access_id, a.accessed_at, authlog.access_digest(a)
				FROM authlog.access_log a WHERE a.tenant_id = t AND a.access_id = m.log_id
				UNION ALL
				SELECT r.record_id, r.recorded_at, authlog.records_digest(r)
				FROM authlog.records_log r WHERE r.tenant_id = t AND r.record_id = m.log_id) l ON true
			LEFT JOIN sealed_twice tw ON tw.log_id = m.log_id
			LEFT JOIN LATERAL (SELECT x.record_id, x.recorded_at, x.reason FROM retired x
			                   WHERE x.seal_no = c.seal_no AND x.log_id = m.log_id LIMIT 1) rt ON true
			CROSS JOIN LATERAL (
				SELECT l.digest AS now_digest,
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
			FROM evidence l
			CROSS JOIN last_seal ls
			LEFT JOIN authlog.seal_members sm ON sm.tenant_id = t AND sm.log_id = l.log_id
			WHERE (verify_tenant_seals.since IS NULL OR l.occurred_at >= verify_tenant_seals.since OR l.recorded_at >= verify_tenant_seals.since)
			  AND (sm.seal_no IS NOT NULL OR least(l.occurred_at, l.recorded_at) < ls.committed_at - skew)
			  AND NOT EXISTS (SELECT 1 FROM sealed WHERE sealed.log_id = l.log_id)
		), overdue AS (
			-- (1.1) listed by no seal and not reported above: unsealed once it
			-- committed longer ago than the interval and the skew, whether or
			-- not the tenant has a seal (a slot consumed by someone else, a
			-- sealer that never ran); while sealing is paused, one row says so
			SELECT l.log_id, l.recorded_at
			FROM evidence l
			WHERE (verify_tenant_seals.since IS NULL OR l.occurred_at >= verify_tenant_seals.since OR l.recorded_at >= verify_tenant_seals.since)
			  AND NOT EXISTS (SELECT 1 FROM sealed WHERE sealed.log_id = l.log_id)
			  AND NOT EXISTS (SELECT 1 FROM unsealed u WHERE u.log_id = l.log_id)
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
			WHERE p.status IS NOT NULL AND p.status <> 'retired'
			UNION ALL
			-- (1.1) one row per retirement record of the seal
			SELECT t, c.seal_no, c.seal_id, c.sealed_at, c.event_count, 'retired', NULL,
			       pg_catalog.format('%s of its members retired by record %s at %s: %s',
			                         pg_catalog.count(*), p.record_id, p.retired_at, p.retired_why),
			       pg_catalog.min(p.n)::integer, 3
			FROM member_problems p JOIN checked c USING (seal_no)
			WHERE p.status = 'retired'
			GROUP BY c.seal_no, c.seal_id, c.sealed_at, c.event_count, p.record_id, p.retired_at, p.retired_why
			UNION ALL
			SELECT t, c.seal_no, c.seal_id, c.sealed_at, c.event_count, 'ok', NULL, NULL, 0, 0
			FROM checked c
			WHERE c.missing IS NULL AND c.altered IS NULL
			  AND NOT EXISTS (SELECT 1 FROM member_problems p
			                  WHERE p.seal_no = c.seal_no AND p.status IS NOT NULL AND p.status <> 'retired')
			UNION ALL
			SELECT t, u.seal_no, NULL, NULL, NULL,
			       CASE WHEN u.seal_no IS NULL THEN 'row_added' ELSE 'seal_missing' END, u.log_id, u.detail, 0, 4
			FROM unsealed u
			UNION ALL
			SELECT t, NULL, NULL, NULL, NULL, 'unsealed', o.log_id,
			       pg_catalog.format('committed at %s, longer ago than authlog.seal_interval (%s) and authlog.max_clock_skew (%s), and no seal lists it',
			                         o.recorded_at, interval_text, skew_text), 0, 5
			FROM overdue o
			WHERE seal_every > interval '0' AND o.recorded_at < pg_catalog.now() - (seal_every + skew)
			UNION ALL
			SELECT t, NULL, NULL, NULL, NULL, 'sealing_paused', NULL,
			       pg_catalog.format('authlog.seal_interval is 0: sealing is paused, and %s events committed since %s are not sealed',
			                         pg_catalog.count(*), pg_catalog.min(o.recorded_at)), 0, 6
			FROM overdue o
			WHERE seal_every = interval '0'
			HAVING pg_catalog.count(*) > 0
		) r
		ORDER BY r.seal_no NULLS LAST, r.k, r.n, r.log_id;
	END LOOP;
END
$$;
COMMENT ON FUNCTION authlog.verify_tenant_seals(text, timestamptz) IS
	'verify_seals without the caller''s scope (of one tenant, or every tenant with seals); granted to nobody, run by verify_seals.';
