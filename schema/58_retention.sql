-- Retention and legal hold (1.1) ----------------------------------------------
-- (doc/retention.md)  Each tenant's events are kept as long as its schedule
-- says (authlog.set_retention, else authlog.default_retention, else for
-- ever), never while a legal hold covers them, and are removed only whole
-- from sealed seals: each removal writes a 'retired' record naming the seal
-- and the members it removed, in the same transaction.  Settings, holds,
-- releases and retirements are evidence: rows of records_log, sealed in the
-- tenant's chain beside its events and mirrored to the store, where the
-- mirror removes retired events on their record.  verify_seals and
-- verify_store_seals report a member a record retired as retired; a member
-- gone without one is still row_deleted.

CREATE TABLE authlog.records_log (
	tenant_id text NOT NULL,
	record_id uuid NOT NULL,
	recorded_at timestamptz NOT NULL,
	action text NOT NULL,
	actor text NOT NULL,
	role_name text NOT NULL,
	reason text,
	keep text,
	hold_id uuid,
	organisation_id text,
	user_id text,
	since timestamptz,
	until timestamptz,
	seal_no bigint,
	retired uuid[],
	kept integer,
	PRIMARY KEY (tenant_id, record_id),
	CONSTRAINT records_log_action CHECK (action IN ('retention_set', 'hold_placed', 'hold_released', 'retired')),
	CONSTRAINT records_log_retired CHECK ((action = 'retired') = (seal_no IS NOT NULL AND retired IS NOT NULL AND kept IS NOT NULL)),
	CONSTRAINT records_log_hold CHECK ((action IN ('hold_placed', 'hold_released')) = (hold_id IS NOT NULL))
);
COMMENT ON TABLE authlog.records_log IS
	'(1.1) The records management of each tenant, as evidence: retention set (keep, an ISO 8601 interval, NULL for the default), legal holds placed (hold_id = record_id; organisation_id, user_id and [since, until) say what they cover) and released (hold_id, reason), and events retired (seal_no, the members retired in the seal''s order, how many of its members are still kept). Append-only, sealed in the tenant''s chain, mirrored.';
COMMENT ON COLUMN authlog.records_log.actor IS
	'Who asked, as the caller names them (a help-desk ticket''s officer, a retention run''s "authlog retention").';
COMMENT ON COLUMN authlog.records_log.role_name IS
	'The database role of the session that wrote the record.';
COMMENT ON COLUMN authlog.records_log.kept IS
	'retired: how many of the seal''s members were still present after this record (kept by a hold, or left for a later batch); 0 when the seal is wholly retired.';
CREATE INDEX records_log_seal ON authlog.records_log (tenant_id, seal_no) WHERE seal_no IS NOT NULL;
CREATE INDEX records_log_hold ON authlog.records_log (hold_id) WHERE hold_id IS NOT NULL;
ALTER TABLE authlog.records_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.records_log FORCE ROW LEVEL SECURITY;
CREATE TRIGGER records_log_append_only
	BEFORE UPDATE OR DELETE ON authlog.records_log
	FOR EACH ROW EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER records_log_no_truncate
	BEFORE TRUNCATE ON authlog.records_log
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.forbid_log_rewrite();

CREATE FUNCTION authlog.records_digest(entry authlog.records_log) RETURNS bytea
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_records_digest';
COMMENT ON FUNCTION authlog.records_digest(authlog.records_log) IS
	'SHA-256 of a records_log row as the store holds it (the digest form of doc/seals.md): what a seal records for it.';

CREATE FUNCTION authlog.new_record_id() RETURNS uuid
LANGUAGE c VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'authlog_new_record_id';
COMMENT ON FUNCTION authlog.new_record_id() IS
	'A new id (UUID v7: time-ordered) for a records_log row.';

-- Bookkeeping of the retention runs (not evidence): per tenant, where the
-- current pass is and how the last one ended.
CREATE TABLE authlog.retention_runs (
	tenant_id text PRIMARY KEY,
	pass_started_at timestamptz,
	pass_cursor bigint NOT NULL DEFAULT 0,
	last_started_at timestamptz,
	last_finished_at timestamptz,
	last_retired bigint,
	last_kept_by_holds bigint,
	last_result text
);
COMMENT ON TABLE authlog.retention_runs IS
	'(1.1) Per tenant, the retention pass in progress (the seal it reached) and the last one''s end, events retired, events a hold kept, and result. Bookkeeping, not evidence: what was removed is in records_log.';
ALTER TABLE authlog.retention_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.retention_runs FORCE ROW LEVEL SECURITY;

-- The holds in force: placed and not released.
CREATE VIEW authlog.legal_holds AS
SELECT h.tenant_id, h.hold_id, h.organisation_id, h.user_id, h.since, h.until,
       h.reason AS case_ref, h.actor AS placed_by, h.recorded_at AS placed_at
FROM authlog.records_log h
WHERE h.action OPERATOR(pg_catalog.=) 'hold_placed'
  AND NOT EXISTS (SELECT 1 FROM authlog.records_log r
                  WHERE r.hold_id OPERATOR(pg_catalog.=) h.hold_id
                    AND r.action OPERATOR(pg_catalog.=) 'hold_released');
COMMENT ON VIEW authlog.legal_holds IS
	'(1.1) The legal holds in force: per tenant, what each covers (organisation, user; NULL: all) and when ([since, until) of the events'' recorded_at or occurred_at; until NULL: open), its case reference, who placed it and when. Nothing a hold covers is retired while it stands.';

-- Whether a hold covers an event: by the time authlog recorded it or the
-- time it claims.  One definition for every statement that retires events
-- (a SQL function of columns, which the planner inlines).
CREATE FUNCTION authlog.hold_covers(hold_organisation text, hold_user text, since timestamptz, until timestamptz,
                                    organisation_id text, user_id text, recorded_at timestamptz, occurred_at timestamptz)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hold_covers.hold_organisation IS NULL OR hold_covers.hold_organisation OPERATOR(pg_catalog.=) hold_covers.organisation_id)
   AND (hold_covers.hold_user IS NULL OR hold_covers.hold_user OPERATOR(pg_catalog.=) hold_covers.user_id)
   AND ((hold_covers.recorded_at OPERATOR(pg_catalog.>=) hold_covers.since
         AND (hold_covers.until IS NULL OR hold_covers.recorded_at OPERATOR(pg_catalog.<) hold_covers.until))
     OR (hold_covers.occurred_at OPERATOR(pg_catalog.>=) hold_covers.since
         AND (hold_covers.until IS NULL OR hold_covers.occurred_at OPERATOR(pg_catalog.<) hold_covers.until)));
COMMENT ON FUNCTION authlog.hold_covers(text, text, timestamptz, timestamptz, text, text, timestamptz, timestamptz) IS
	'(1.1) Whether a legal hold (its organisation and user, NULL: all; [since, until)) covers an event (its organisation, user, recorded_at, occurred_at): by either time.';

-- The retention in force per tenant: its last setting, else the default.
CREATE FUNCTION authlog.tenant_retention(tenant_id text) RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT r.keep::interval FROM authlog.records_log r
	                 WHERE r.tenant_id = tenant_retention.tenant_id AND r.action = 'retention_set'
	                 ORDER BY r.recorded_at DESC, r.record_id DESC LIMIT 1),
	                nullif(current_setting('authlog.default_retention', true), '')::interval);
END;
COMMENT ON FUNCTION authlog.tenant_retention(text) IS
	'(1.1) How long a tenant''s events are kept: its last authlog.set_retention, else authlog.default_retention; NULL: for ever.';

-- A records manager at the API: the platform API's role (a gateway) calls
-- set_retention, place_hold and release_hold, and reads the status and the
-- holds, only within a request whose token has records_manager (to read:
-- or compliance) for the whole tenant, as the token's subject.
CREATE FUNCTION authlog.records_request(writes boolean, actor text)
RETURNS text
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_records_request';
COMMENT ON FUNCTION authlog.records_request(boolean, text) IS
	'(1.1) The tenant whose retention and legal holds the request begun in this transaction may manage (writes: records_manager, the actor being the token''s subject) or read (records_manager or compliance), for a whole tenant; NULL for a caller outside any request (a superuser, a records manager''s role), whose EXECUTE privilege was the check; an error for a gateway without a request or a token without the role.';

CREATE FUNCTION authlog.records_scope_check(scope text, tenant_id text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF scope IS NOT NULL AND scope IS DISTINCT FROM records_scope_check.tenant_id THEN
		RAISE EXCEPTION 'the request''s token does not cover tenant "%"', records_scope_check.tenant_id
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;
COMMENT ON FUNCTION authlog.records_scope_check(text, text) IS
	'(1.1) Raises unless a request''s records scope (records_request) is NULL or the tenant.';

CREATE FUNCTION authlog.set_retention(tenant_id text, keep interval, actor text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET IntervalStyle = iso_8601
AS $$
DECLARE
	id uuid := authlog.new_record_id();
BEGIN
	IF set_retention.tenant_id IS NULL OR set_retention.actor IS NULL OR set_retention.actor = '' THEN
		RAISE EXCEPTION 'tenant_id and actor are required'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Name the tenant and who decided the schedule; pass keep NULL to return to authlog.default_retention.';
	END IF;
	PERFORM authlog.records_scope_check(authlog.records_request(true, set_retention.actor), set_retention.tenant_id);
	IF keep IS NOT NULL AND (keep <= interval '0' OR now() - keep >= now()) THEN
		RAISE EXCEPTION 'keep must be a positive interval, not %', keep
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass how long events are kept, such as ''1 year''; NULL returns the tenant to authlog.default_retention.';
	END IF;
	INSERT INTO authlog.records_log (tenant_id, record_id, recorded_at, action, actor, role_name, keep)
	VALUES (set_retention.tenant_id, id, now(), 'retention_set', set_retention.actor, session_user, keep::text);
	RETURN id;
END
$$;
COMMENT ON FUNCTION authlog.set_retention(text, interval, text) IS
	'(1.1) Sets how long a tenant''s events are kept (NULL: back to authlog.default_retention), as a sealed record naming the actor; returns the record''s id. Events older than that are retired by the next retention run unless a legal hold covers them. For superusers and records managers (grant_records_manager).';

CREATE FUNCTION authlog.place_hold(tenant_id text, since timestamptz, until timestamptz, case_ref text,
                                   actor text, organisation_id text DEFAULT NULL, user_id text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id uuid := authlog.new_record_id();
	account text := place_hold.user_id;
BEGIN
	IF place_hold.tenant_id IS NULL OR place_hold.since IS NULL OR nullif(place_hold.case_ref, '') IS NULL
	   OR nullif(place_hold.actor, '') IS NULL THEN
		RAISE EXCEPTION 'tenant_id, since, case_ref and actor are required'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Name the tenant, the start of the period the case covers, the case and who placed the hold; until NULL leaves it open.';
	END IF;
	PERFORM authlog.records_scope_check(authlog.records_request(true, place_hold.actor), place_hold.tenant_id);
	IF place_hold.until IS NOT NULL AND place_hold.until <= place_hold.since THEN
		RAISE EXCEPTION 'until (%) must be after since (%)', place_hold.until, place_hold.since
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF account IS NOT NULL THEN
		-- the account as the tenant's user id matching rule names it
		account := authlog.account_key(place_hold.tenant_id, account);
	END IF;
	-- a retention batch of the tenant in progress finishes first; the next sees the hold
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('authlog retention ' || place_hold.tenant_id));
	INSERT INTO authlog.records_log (tenant_id, record_id, recorded_at, action, actor, role_name, reason,
	                                 hold_id, organisation_id, user_id, since, until)
	VALUES (place_hold.tenant_id, id, now(), 'hold_placed', place_hold.actor, session_user, place_hold.case_ref,
	        id, place_hold.organisation_id, account, place_hold.since, place_hold.until);
	RETURN id;
END
$$;
COMMENT ON FUNCTION authlog.place_hold(text, timestamptz, timestamptz, text, text, text, text) IS
	'(1.1) Places a legal hold: no event of the tenant (of the organisation, of the user, when given) recorded or claiming to have occurred in [since, until) is retired until authlog.release_hold. Sealed as evidence; returns the hold''s id. For superusers and records managers.';

CREATE FUNCTION authlog.release_hold(hold_id uuid, actor text, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tenant text;
	scope text;
BEGIN
	IF nullif(release_hold.actor, '') IS NULL OR nullif(release_hold.reason, '') IS NULL THEN
		RAISE EXCEPTION 'actor and reason are required'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Say who released the hold and why (the case closed, the order lifted).';
	END IF;
	-- within a request, a hold of another tenant is not found
	scope := authlog.records_request(true, release_hold.actor);
	SELECT h.tenant_id INTO tenant FROM authlog.legal_holds h
	WHERE h.hold_id = release_hold.hold_id AND (scope IS NULL OR h.tenant_id = scope);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no legal hold % is in force', release_hold.hold_id
			USING ERRCODE = 'no_data_found',
			      HINT = 'authlog.legal_holds lists the holds in force; a released hold stays released.';
	END IF;
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('authlog retention ' || tenant));
	-- two releases at once: the second finds the first's
	IF EXISTS (SELECT 1 FROM authlog.records_log r
	           WHERE r.hold_id = release_hold.hold_id AND r.action = 'hold_released') THEN
		RAISE EXCEPTION 'legal hold % was released meanwhile', release_hold.hold_id
			USING ERRCODE = 'no_data_found';
	END IF;
	INSERT INTO authlog.records_log (tenant_id, record_id, recorded_at, action, actor, role_name, reason, hold_id)
	VALUES (tenant, authlog.new_record_id(), now(), 'hold_released', release_hold.actor, session_user,
	        release_hold.reason, release_hold.hold_id);
END
$$;
COMMENT ON FUNCTION authlog.release_hold(uuid, text, text) IS
	'(1.1) Releases a legal hold, as a sealed record of who and why; what it kept is retired by the next retention run if its tenant''s retention has passed. For superusers and records managers.';

-- Removes, in one statement, the members of one sealed seal recorded
-- before cutoff that no hold covers (at most max_rows), and writes the
-- record naming them; the only path by which auth_logs loses a row.
CREATE FUNCTION authlog.retire_seal_members(tenant_id text, seal_no bigint, cutoff timestamptz,
                                            max_rows integer, actor text, reason text)
RETURNS TABLE (retired integer, kept integer)
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'authlog_retire_seal_members';
COMMENT ON FUNCTION authlog.retire_seal_members(text, bigint, timestamptz, integer, text, text) IS
	'(1.1) One step of retention: deletes the events of one seal recorded before cutoff and covered by no legal hold (at most max_rows) with the records_log row that names them; returns how many it retired and how many of the seal''s members remain. Granted to nobody; run by retention_batch.';

CREATE FUNCTION authlog.retention_batch(batch_rows integer DEFAULT NULL, pass_started timestamptz DEFAULT NULL,
                                        OUT retired bigint, OUT finished boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET IntervalStyle = iso_8601
AS $$
DECLARE
	budget integer := coalesce(retention_batch.batch_rows,
	                           nullif(current_setting('authlog.retention_batch_rows', true), '')::integer, 5000);
	pass timestamptz := coalesce(retention_batch.pass_started, now());
	t record;
	s record;
	step record;
	keep interval;
	cutoff timestamptz;
	budget_before integer;
BEGIN
	retired := 0;
	finished := false;
	IF budget IS NULL OR budget < 1 THEN
		RAISE EXCEPTION 'batch_rows must be at least 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		-- each step must see the holds committed before it, not an older snapshot's
		RAISE EXCEPTION 'retention runs at READ COMMITTED'
			USING ERRCODE = 'active_sql_transaction',
			      HINT = 'CALL authlog.run_retention() outside an explicit transaction.';
	END IF;
	-- the tenants with seals, in order, but those this pass finished; a
	-- tenant's pass that stopped (a batch's end, a crash) goes on where it was
	FOR t IN
		SELECT x.tenant_id
		FROM (SELECT DISTINCT s2.tenant_id FROM authlog.seals s2) x
		LEFT JOIN authlog.retention_runs r ON r.tenant_id = x.tenant_id
		WHERE r.last_finished_at IS NULL OR r.last_finished_at < pass OR r.pass_started_at IS NOT NULL
		ORDER BY x.tenant_id
	LOOP
		keep := authlog.tenant_retention(t.tenant_id);
		CONTINUE WHEN keep IS NULL;
		cutoff := now() - keep;
		-- a hold placed meanwhile waits for this transaction, and the next sees it
		PERFORM pg_advisory_xact_lock(hashtext('authlog retention ' || t.tenant_id));
		INSERT INTO authlog.retention_runs AS r (tenant_id, pass_started_at, last_started_at, last_retired, last_kept_by_holds)
		VALUES (t.tenant_id, now(), now(), 0, 0)
		ON CONFLICT (tenant_id) DO UPDATE
			SET pass_started_at = coalesce(r.pass_started_at, now()),
			    last_started_at = CASE WHEN r.pass_started_at IS NULL THEN now() ELSE r.last_started_at END,
			    last_retired = CASE WHEN r.pass_started_at IS NULL THEN 0 ELSE r.last_retired END,
			    last_kept_by_holds = CASE WHEN r.pass_started_at IS NULL THEN 0 ELSE r.last_kept_by_holds END;
		FOR s IN
			SELECT x.seal_no FROM authlog.seals x
			WHERE x.tenant_id = t.tenant_id AND x.last_committed_at < cutoff
			  AND x.seal_no > (SELECT r.pass_cursor FROM authlog.retention_runs r WHERE r.tenant_id = t.tenant_id)
			  AND NOT EXISTS (SELECT 1 FROM authlog.records_log w
			                  WHERE w.tenant_id = t.tenant_id AND w.seal_no = x.seal_no AND w.kept = 0)
			ORDER BY x.seal_no
		LOOP
			budget_before := budget;
			SELECT * INTO step FROM authlog.retire_seal_members(t.tenant_id, s.seal_no, cutoff, budget,
				'authlog retention', format('retention of tenant %s: kept for %s', t.tenant_id, keep));
			retired := retired + step.retired;
			budget := budget - step.retired;
			IF step.retired >= budget_before THEN
				-- the budget is spent and the seal may have more: the next batch goes on from it
				UPDATE authlog.retention_runs r SET last_retired = r.last_retired + step.retired
				WHERE r.tenant_id = t.tenant_id;
				RETURN;
			END IF;
			-- the seal is done: what is left of it, a hold keeps
			UPDATE authlog.retention_runs r
			SET last_retired = r.last_retired + step.retired,
			    last_kept_by_holds = r.last_kept_by_holds + step.kept,
			    pass_cursor = s.seal_no
			WHERE r.tenant_id = t.tenant_id;
		END LOOP;
		UPDATE authlog.retention_runs r
		SET pass_started_at = NULL, pass_cursor = 0, last_finished_at = now(),
		    last_result = format('events retired: %s, recorded before %s (kept for %s); events legal holds kept: %s',
		                         r.last_retired, cutoff, keep, r.last_kept_by_holds)
		WHERE r.tenant_id = t.tenant_id;
	END LOOP;
	finished := true;
END
$$;
COMMENT ON FUNCTION authlog.retention_batch(integer, timestamptz) IS
	'(1.1) One bounded step of the retention pass that started at pass_started (default: now, a whole pass): retires at most batch_rows events (default authlog.retention_batch_rows) of the tenants whose retention has passed, oldest seal first, and says whether the pass is finished. Each call is one transaction''s work; run_retention and the sealer worker call it until finished.';

-- A partition whose every event is past its tenant's retention, sealed
-- and under no hold is retired whole: the records naming its events per
-- seal, their ids removed, then the partition dropped (or detached into
-- authlog_archive) in the same transaction, instead of deleting its rows.
CREATE FUNCTION authlog.retire_partition_events(part regclass, tenants text[], cutoffs timestamptz[],
                                                reasons text[], actor text)
RETURNS TABLE (tenant_id text, records integer, retired bigint)
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'authlog_retire_partition_events';
COMMENT ON FUNCTION authlog.retire_partition_events(regclass, text[], timestamptz[], text[], text) IS
	'(1.1) retire_partition''s step before the drop: writes the retired record of each seal with events in the partition (naming them; the reason of their tenant) and removes their ids; refuses, writing nothing, unless every event of the partition is named (sealed before its tenant''s cutoff, under no hold). Granted to nobody.';

CREATE FUNCTION authlog.retire_partition(OUT partition text, OUT retired bigint, OUT records integer,
                                         OUT archived_as text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET IntervalStyle = iso_8601
AS $$
DECLARE
	p record;
	t text;
	tenants text[];
	cutoffs timestamptz[];
	reasons text[];
	keep interval;
	due boolean;
	blocked boolean;
	step record;
	tries integer := 0;
	lock_wait text := current_setting('lock_timeout');
	archive boolean := current_setting('authlog.retired_partitions', true) = 'archive';
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'retention runs at READ COMMITTED'
			USING ERRCODE = 'active_sql_transaction',
			      HINT = 'CALL authlog.run_retention() outside an explicit transaction.';
	END IF;
	-- one at a time with create_partitions and drop_empty_partitions
	PERFORM pg_advisory_xact_lock(hashtext('authlog partitions'));
	FOR p IN
		SELECT x.partition, x.lower, x.upper FROM authlog.auth_logs_partitions x
		WHERE NOT x.is_default AND x.upper <= now()
		ORDER BY x.lower
	LOOP
		-- its tenants, one probe of its key's index each
		EXECUTE format('WITH RECURSIVE t(tenant_id) AS ('
		               ' SELECT min(e.tenant_id) FROM %1$s e'
		               ' UNION ALL SELECT (SELECT min(e.tenant_id) FROM %1$s e WHERE e.tenant_id > t.tenant_id)'
		               ' FROM t WHERE t.tenant_id IS NOT NULL)'
		               ' SELECT array_agg(t.tenant_id ORDER BY t.tenant_id) FROM t WHERE t.tenant_id IS NOT NULL',
		               p.partition) INTO tenants;
		-- an empty one is drop_empty_partitions'
		CONTINUE WHEN tenants IS NULL;
		cutoffs := '{}';
		reasons := '{}';
		due := true;
		FOREACH t IN ARRAY tenants LOOP
			keep := authlog.tenant_retention(t);
			IF keep IS NULL OR p.upper > now() - keep THEN
				due := false;
				EXIT;
			END IF;
			cutoffs := cutoffs || (now() - keep);
			reasons := reasons || format('retention of tenant %s: kept for %s; partition %s retired whole',
			                             t, keep, p.partition);
		END LOOP;
		CONTINUE WHEN NOT due;
		-- a hold placed meanwhile waits for this transaction (tenants in
		-- order; every other taker holds one tenant's at a time)
		FOREACH t IN ARRAY tenants LOOP
			PERFORM pg_advisory_xact_lock(hashtext('authlog retention ' || t));
		END LOOP;
		-- under a hold, or not all sealed before the cutoff: batches go around them
		IF EXISTS (SELECT 1 FROM authlog.legal_holds h WHERE h.tenant_id = ANY (tenants)) THEN
			EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s e JOIN authlog.legal_holds h ON h.tenant_id = e.tenant_id'
			               ' WHERE authlog.hold_covers(h.organisation_id, h.user_id, h.since, h.until,'
			               '                           e.organisation_id, e.user_id, e.recorded_at, e.occurred_at))',
			               p.partition) INTO blocked;
			CONTINUE WHEN blocked;
		END IF;
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s e'
		               ' JOIN unnest($1::text[], $2::timestamptz[]) c(tenant_id, cutoff) ON c.tenant_id = e.tenant_id'
		               ' LEFT JOIN authlog.seal_members m ON m.tenant_id = e.tenant_id AND m.log_id = e.log_id'
		               ' LEFT JOIN authlog.seals s ON s.tenant_id = m.tenant_id AND s.seal_no = m.seal_no'
		               ' WHERE s.seal_no IS NULL OR s.last_committed_at >= c.cutoff)', p.partition)
		USING tenants, cutoffs INTO blocked;
		CONTINUE WHEN blocked;

		-- one partition that cannot go (its lock not had, a check's refusal)
		-- leaves it to the batches and goes on to the next: nothing of it
		-- is written, and retention never stalls on it
		BEGIN
			partition := p.partition::text;
			retired := 0;
			records := 0;
			FOR step IN
				SELECT * FROM authlog.retire_partition_events(p.partition, tenants, cutoffs, reasons, 'authlog retention')
			LOOP
				retired := retired + step.retired;
				records := records + step.records;
				-- counted in the tenant's pass, which the batches go on with
				INSERT INTO authlog.retention_runs AS r (tenant_id, pass_started_at, last_started_at, last_retired, last_kept_by_holds)
				VALUES (step.tenant_id, now(), now(), step.retired, 0)
				ON CONFLICT (tenant_id) DO UPDATE
					SET pass_started_at = coalesce(r.pass_started_at, now()),
					    last_started_at = CASE WHEN r.pass_started_at IS NULL THEN now() ELSE r.last_started_at END,
					    last_retired = CASE WHEN r.pass_started_at IS NULL THEN 0 ELSE r.last_retired END + step.retired,
					    last_kept_by_holds = CASE WHEN r.pass_started_at IS NULL THEN 0 ELSE r.last_kept_by_holds END;
			END LOOP;

			-- dropping (or detaching) a partition locks auth_logs: wait at most
			-- 50 ms at a time, so logins queue behind it no longer than that
			PERFORM set_config('lock_timeout', '50ms', true);
			LOOP
				BEGIN
					IF archive THEN
						EXECUTE 'CREATE SCHEMA IF NOT EXISTS authlog_archive';
						EXECUTE format('ALTER TABLE authlog.auth_logs DETACH PARTITION %s', p.partition);
						EXECUTE format('ALTER TABLE %s SET SCHEMA authlog_archive', p.partition);
						archived_as := p.partition::text;
					ELSE
						EXECUTE format('DROP TABLE %s', p.partition);
					END IF;
					EXIT;
				EXCEPTION WHEN lock_not_available THEN
					tries := tries + 1;
					IF tries >= 5 THEN
						RAISE EXCEPTION 'could not lock authlog.auth_logs to retire % (5 tries of 50 ms)', partition
							USING ERRCODE = 'lock_not_available';
					END IF;
					PERFORM pg_sleep(0.1 * tries);
				END;
			END LOOP;
			PERFORM set_config('lock_timeout', lock_wait, true);
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'authlog retention: % is not retired whole', p.partition
				USING DETAIL = SQLERRM,
				      HINT = 'Nothing of it was written; its events past retention go in batches meanwhile, and the next pass tries again.';
			partition := NULL;
			archived_as := NULL;
			tries := 0;
			CONTINUE;
		END;
		RETURN NEXT;
		RETURN;
	END LOOP;
END
$$;
COMMENT ON FUNCTION authlog.retire_partition() IS
	'(1.1) Retires whole the oldest partition of auth_logs wholly past whose every event is past its tenant''s retention, sealed before it and covered by no legal hold: a retired record per seal naming its events there, then the partition dropped, or with authlog.retired_partitions = archive detached into the schema authlog_archive, in one transaction, waiting at most 50 ms at a time for auth_logs'' lock (5 tries). Returns it, or no row when none is due; a partition that cannot go (the lock not had) is left, with a WARNING and nothing written, to the batches. run_retention and the retention worker call it before their batches.';

CREATE PROCEDURE authlog.run_retention(batch_rows integer DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	step record;
	total bigint := 0;
	pass timestamptz := pg_catalog.clock_timestamp();
	whole record;
BEGIN
	-- whole partitions first, each in a transaction of its own; then batches
	LOOP
		SELECT * INTO whole FROM authlog.retire_partition();
		COMMIT;
		EXIT WHEN whole.partition IS NULL;
		total := total OPERATOR(pg_catalog.+) whole.retired;
		RAISE NOTICE 'authlog retention: % retired whole (% events, % records)%', whole.partition, whole.retired,
			whole.records, coalesce(', archived as ' OPERATOR(pg_catalog.||) whole.archived_as, '');
	END LOOP;
	LOOP
		SELECT * INTO step FROM authlog.retention_batch(batch_rows, pass);
		COMMIT;
		total := total OPERATOR(pg_catalog.+) step.retired;
		EXIT WHEN step.finished;
		RAISE NOTICE 'authlog retention: events retired so far: %', total;
	END LOOP;
	RAISE NOTICE 'authlog retention: pass finished; events retired: %', total;
END
$$;
-- (REVOKE ... ON ALL FUNCTIONS leaves procedures out)
REVOKE ALL ON PROCEDURE authlog.run_retention(integer) FROM PUBLIC;
COMMENT ON PROCEDURE authlog.run_retention(integer) IS
	'(1.1) One retention pass now: the partitions of auth_logs due whole first (retire_partition), then the other events in batches of batch_rows events (default authlog.retention_batch_rows), each committed on its own so no login waits on it; reports progress. CALL it outside a transaction block. For superusers and records managers.';

CREATE VIEW authlog.retention_status AS
SELECT t.tenant_id,
       authlog.tenant_retention(t.tenant_id) AS keep,
       k.oldest_kept_at,
       k.oldest_kept_at + authlog.tenant_retention(t.tenant_id) AS next_removal_due,
       (SELECT pg_catalog.count(*) FROM authlog.legal_holds h WHERE h.tenant_id = t.tenant_id) AS holds_in_force,
       r.last_started_at AS last_run_started,
       r.last_finished_at AS last_run_finished,
       r.pass_started_at IS NOT NULL AS run_in_progress,
       r.last_result
FROM (SELECT DISTINCT x.tenant_id FROM authlog.seals x
      UNION SELECT y.tenant_id FROM authlog.records_log y) t
LEFT JOIN authlog.retention_runs r ON r.tenant_id OPERATOR(pg_catalog.=) t.tenant_id
-- from the seals, not a scan of the events: the first commit of the oldest
-- seal whose events are not all retired (newer events are not sealed yet)
LEFT JOIN LATERAL (
	SELECT min(s.first_committed_at) AS oldest_kept_at FROM authlog.seals s
	WHERE s.tenant_id OPERATOR(pg_catalog.=) t.tenant_id
	  AND NOT EXISTS (SELECT 1 FROM authlog.records_log w
	                  WHERE w.tenant_id OPERATOR(pg_catalog.=) s.tenant_id
	                    AND w.seal_no OPERATOR(pg_catalog.=) s.seal_no
	                    AND w.kept OPERATOR(pg_catalog.=) 0)) k ON true;
COMMENT ON VIEW authlog.retention_status IS
	'(1.1) Per tenant: its retention (NULL: kept for ever), when its oldest sealed events still kept were committed (the first commit of the oldest seal not wholly retired), when the next removal is due (that time plus the retention; a hold may keep them longer), the legal holds in force, the last retention run and its result.';

-- What the API reads for a records manager (or an auditor): one tenant's
-- retention status and holds in force.
CREATE FUNCTION authlog.tenant_retention_status(tenant_id text)
RETURNS SETOF authlog.retention_status
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM authlog.records_scope_check(authlog.records_request(false, NULL), tenant_retention_status.tenant_id);
	RETURN QUERY SELECT * FROM authlog.retention_status s WHERE s.tenant_id = tenant_retention_status.tenant_id;
END
$$;
COMMENT ON FUNCTION authlog.tenant_retention_status(text) IS
	'(1.1) retention_status of one tenant: for superusers, records managers, and a gateway within a request whose token has records_manager or compliance for the whole tenant.';

CREATE FUNCTION authlog.tenant_legal_holds(tenant_id text)
RETURNS SETOF authlog.legal_holds
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM authlog.records_scope_check(authlog.records_request(false, NULL), tenant_legal_holds.tenant_id);
	RETURN QUERY SELECT * FROM authlog.legal_holds h WHERE h.tenant_id = tenant_legal_holds.tenant_id
	ORDER BY h.placed_at, h.hold_id;
END
$$;
COMMENT ON FUNCTION authlog.tenant_legal_holds(text) IS
	'(1.1) The legal holds in force of one tenant, oldest first: for superusers, records managers, and a gateway within a request whose token has records_manager or compliance for the whole tenant.';

CREATE FUNCTION authlog.grant_records_manager(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA authlog TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %s', authlog.records_manager_routines(), role);
	EXECUTE pg_catalog.format('GRANT SELECT ON authlog.legal_holds, authlog.retention_status TO %s', role);
END
$$;
COMMENT ON FUNCTION authlog.grant_records_manager(regrole) IS
	'(1.1) Lets a role manage retention and legal holds: set_retention, place_hold, release_hold, run_retention and retention_batch, and read legal_holds and retention_status. No table access.';

CREATE FUNCTION authlog.revoke_records_manager(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM %s', authlog.records_manager_routines(), role);
	EXECUTE pg_catalog.format('REVOKE SELECT ON authlog.legal_holds, authlog.retention_status FROM %s', role);
END
$$;
COMMENT ON FUNCTION authlog.revoke_records_manager(regrole) IS
	'(1.1) Takes back what grant_records_manager gave (the schema''s usage stays: other grants may need it).';

-- What grant_gateway adds for the API's records managers: the functions
-- check the request themselves (records_request).
CREATE FUNCTION authlog.gateway_records_routines() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.set_retention(text, interval, text), '
	'authlog.place_hold(text, timestamptz, timestamptz, text, text, text, text), '
	'authlog.release_hold(uuid, text, text), '
	'authlog.tenant_retention_status(text), '
	'authlog.tenant_legal_holds(text), '
	'authlog.account_key(text, text)';
COMMENT ON FUNCTION authlog.gateway_records_routines() IS
	'(1.1) The routines grant_gateway gives EXECUTE on for records managers at the API; each acts only within a request (authlog.records_request).';

CREATE FUNCTION authlog.records_manager_routines() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'authlog.set_retention(text, interval, text), '
	'authlog.place_hold(text, timestamptz, timestamptz, text, text, text, text), '
	'authlog.release_hold(uuid, text, text), '
	'authlog.retention_batch(integer, timestamptz), '
	'authlog.run_retention(integer), '
	'authlog.retire_partition(), '
	'authlog.tenant_retention_status(text), '
	'authlog.tenant_legal_holds(text), '
	'authlog.tenant_retention(text), '
	'authlog.account_key(text, text)';
COMMENT ON FUNCTION authlog.records_manager_routines() IS
	'(1.1) The routines grant_records_manager gives EXECUTE on.';
