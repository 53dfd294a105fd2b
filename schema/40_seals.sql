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
	anchor_root bytea,
	anchor_index integer,
	anchor_size integer,
	anchor_path bytea,
	PRIMARY KEY (tenant_id, seal_no)
);
-- (1.1) SHA-256 digests do not compress and log ids barely do: stored as
-- they are, pglz spent its time on every seal trying (doc/performance.md)
ALTER TABLE authlog.seals ALTER COLUMN members SET STORAGE EXTERNAL;
ALTER TABLE authlog.seals ALTER COLUMN member_digests SET STORAGE EXTERNAL;
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
	'authlog.seal_digest() of this row: SHA-256 over its columns, the previous digest, the members and their digests (layout in doc/seals.md).';
COMMENT ON COLUMN authlog.seals.anchor_root IS
	'(1.1) The anchor of the cut that wrote the seal: the root of an RFC 6962 Merkle tree over the digests of the cut''s seals, in the order written, which the server log (authlog anchor) and NOTIFY authlog_seal carry. NULL for seals cut before 1.1.';
COMMENT ON COLUMN authlog.seals.anchor_index IS
	'(1.1) The seal''s leaf in its cut''s tree, from 0.';
COMMENT ON COLUMN authlog.seals.anchor_size IS
	'(1.1) How many seals its cut wrote: the size of the tree.';
COMMENT ON COLUMN authlog.seals.anchor_path IS
	'(1.1) The seal''s audit path in its cut''s tree (RFC 6962, 32 bytes a hash, deepest first): authlog.anchor_root(digest, anchor_index, anchor_size, anchor_path) = anchor_root.';

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

-- The seals of a tenant as a reader function reads them: tenant-wide readers only.
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

CREATE FUNCTION authlog.seal_digest(seal authlog.seals) RETURNS bytea
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_seal_digest';
COMMENT ON FUNCTION authlog.seal_digest(authlog.seals) IS
	'The digest a seal must carry, recomputed from its other columns (layout in doc/seals.md).';

CREATE FUNCTION authlog.anchor_root(digest bytea, anchor_index integer, anchor_size integer, anchor_path bytea)
RETURNS bytea
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_anchor_root';
COMMENT ON FUNCTION authlog.anchor_root(bytea, integer, integer, bytea) IS
	'The root an audit path leads to from a seal''s digest (RFC 6962 / RFC 9162 inclusion proof; NULL when the path cannot be one for that index and size): equal to the seal''s anchor_root, and to the root its cut logged, for an intact seal.';

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

CREATE FUNCTION authlog.verify_store_seals(tenant_id text DEFAULT NULL, since timestamptz DEFAULT NULL)
RETURNS SETOF authlog.seal_check
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_verify_store_seals';
COMMENT ON FUNCTION authlog.verify_store_seals(text, timestamptz) IS
	'The same verification against the document store''s copy (its seals and its documents), plus every seal that differs between the two stores (seal_differs) or that one of them lacks. Opens a short-lived client; for administrators.';

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

CREATE FUNCTION authlog.seal_now(timeout interval DEFAULT '60s') RETURNS bigint
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'authlog_seal_now';
COMMENT ON FUNCTION authlog.seal_now(interval) IS
	'Asks the sealer to cut now and waits until every event committed before the call is sealed; returns the seals written meanwhile, or raises an error naming what held the sealer back.';

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
