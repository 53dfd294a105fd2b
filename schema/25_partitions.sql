-- auth_logs' partitions (1.1) -------------------------------------------------
-- (doc/retention.md, "Partitions")  A partition a month of recorded_at (UTC),
-- made ahead by the worker authlog retention (hourly) and by
-- authlog.create_partitions();
-- auth_logs_default holds what arrives for a month that has none yet.  Each
-- month is made as a table of its own and then attached, which locks the
-- parent in SHARE UPDATE EXCLUSIVE mode only: logins go on inserting
-- meanwhile; a month made late, that may be receiving events already, is
-- attached under an ACCESS EXCLUSIVE lock instead (with what
-- auth_logs_default holds of it, moved in, so that no query sees them in
-- neither).  The months' partitions are not members of the extension, so
-- pg_dump dumps them, their rows and how they attach, like any table.

CREATE FUNCTION authlog.partition_bounds(part regclass, OUT lower timestamptz, OUT upper timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET DateStyle = ISO
SET TimeZone = UTC
BEGIN ATOMIC
	SELECT CASE WHEN m[1] = 'MINVALUE' THEN '-infinity'::timestamptz ELSE btrim(m[1], '''')::timestamptz END,
	       CASE WHEN m[2] = 'MAXVALUE' THEN 'infinity'::timestamptz ELSE btrim(m[2], '''')::timestamptz END
	FROM (SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid), '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS m
	      FROM pg_class c WHERE c.oid = partition_bounds.part) b;
END;
COMMENT ON FUNCTION authlog.partition_bounds(regclass) IS
	'(1.1) The [lower, upper) range of recorded_at a partition of auth_logs holds (NULL for auth_logs_default).';

CREATE VIEW authlog.auth_logs_partitions AS
SELECT c.oid::regclass AS partition, b.lower, b.upper, c.relname = 'auth_logs_default' AS is_default
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
CROSS JOIN LATERAL authlog.partition_bounds(c.oid::regclass) b
WHERE i.inhparent OPERATOR(pg_catalog.=) 'authlog.auth_logs'::pg_catalog.regclass;
COMMENT ON VIEW authlog.auth_logs_partitions IS
	'(1.1) The partitions of auth_logs and the [lower, upper) range of recorded_at each holds.';

CREATE FUNCTION authlog.create_partitions(months_ahead integer DEFAULT 12)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = UTC
SET lock_timeout = '200ms'
AS $$
DECLARE
	month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
	month_start timestamptz;
	month_end timestamptz;
	part text;
	made integer := 0;
	has_rows boolean;
BEGIN
	IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
		RAISE EXCEPTION 'months_ahead must be between 0 and 120, not %', months_ahead
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- one maker at a time (the worker's and a DBA's call): the second finds the months made
	PERFORM pg_advisory_xact_lock(hashtext('authlog partitions'));
	FOR i IN 0 .. months_ahead LOOP
		month_start := (month + pg_catalog.make_interval(months => i)) AT TIME ZONE 'UTC';
		month_end := (month + pg_catalog.make_interval(months => i + 1)) AT TIME ZONE 'UTC';
		-- a month some partition holds already (1.0's rows, or made before)
		CONTINUE WHEN EXISTS (SELECT 1 FROM authlog.auth_logs_partitions p
		                      WHERE p.lower < month_end AND p.upper > month_start);
		part := 'auth_logs_' || to_char(month_start, 'YYYY_MM');
		IF month_start <= now() + interval '1 day' THEN
			-- a month that may be receiving events now (made late: a new
			-- database, the worker stopped): an insert that routed an event
			-- before the attach would send it to the default partition,
			-- whose new constraint then refuses it (a login's error); and
			-- what the default partition holds of the month moves in one
			-- step that no query sees half of (a query planned before an
			-- attach does not read the new partition)
			LOCK TABLE authlog.auth_logs IN ACCESS EXCLUSIVE MODE;
		END IF;
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM authlog.auth_logs_default d'
		               ' WHERE d.recorded_at >= %L AND d.recorded_at < %L)', month_start, month_end)
		INTO has_rows;
		EXECUTE format('CREATE TABLE authlog.%I (LIKE authlog.auth_logs INCLUDING DEFAULTS)', part);
		-- read through auth_logs (its policy) or not at all
		EXECUTE format('ALTER TABLE authlog.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', part);
		EXECUTE format('ALTER TABLE authlog.%I ADD CONSTRAINT %I CHECK (recorded_at >= %L AND recorded_at < %L)',
		               part, part || '_range', month_start, month_end);
		-- the table is no partition yet, so the move is no change the output
		-- plugin decodes as an event (and the store does not take the
		-- default partition's deletes)
		IF has_rows THEN
			EXECUTE format('INSERT INTO authlog.%I SELECT * FROM authlog.auth_logs_default d'
			               ' WHERE d.recorded_at >= %L AND d.recorded_at < %L', part, month_start, month_end);
			PERFORM authlog.clear_default_partition(month_start, month_end);
		END IF;
		EXECUTE format('ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.%I FOR VALUES FROM (%L) TO (%L)',
		               part, month_start, month_end);
		EXECUTE format('ALTER TABLE authlog.%I DROP CONSTRAINT %I', part, part || '_range');
		made := made + 1;
	END LOOP;
	RETURN made;
END
$$;
COMMENT ON FUNCTION authlog.create_partitions(integer) IS
	'(1.1) Makes the partitions of auth_logs for this month and the next months_ahead (UTC months of recorded_at) that do not exist, moving what auth_logs_default holds of them in; returns how many it made. The worker authlog partitions runs it hourly; it waits at most 200 ms for a lock, and fails rather than keeps logins waiting.';

CREATE FUNCTION authlog.clear_default_partition(lower timestamptz, upper timestamptz)
RETURNS bigint
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'authlog_clear_default_partition';
COMMENT ON FUNCTION authlog.clear_default_partition(timestamptz, timestamptz) IS
	'(1.1) Deletes from auth_logs_default the events recorded in [lower, upper), once create_partitions has copied them into their month''s partition. Granted to nobody.';

CREATE FUNCTION authlog.drop_empty_partitions()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '50ms'
AS $$
DECLARE
	p record;
	dropped integer := 0;
	empty boolean;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('authlog partitions'));
	-- months wholly past whose events retention removed, each with its sealed
	-- record: the space goes back at once, rather than after vacuum
	FOR p IN
		SELECT x.partition FROM authlog.auth_logs_partitions x
		WHERE NOT x.is_default AND x.upper <= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
		ORDER BY x.lower
	LOOP
		EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %s)', p.partition) INTO empty;
		CONTINUE WHEN NOT empty;
		EXECUTE format('ALTER TABLE authlog.auth_logs DETACH PARTITION %s', p.partition);
		EXECUTE format('DROP TABLE %s', p.partition);
		dropped := dropped + 1;
	END LOOP;
	RETURN dropped;
END
$$;
COMMENT ON FUNCTION authlog.drop_empty_partitions() IS
	'(1.1) Drops the partitions of auth_logs of months wholly past that hold no event (retention retired them all, each removal with its sealed record); returns how many. The worker authlog partitions runs it hourly; it waits at most 50 ms for a lock (a detach locks auth_logs), and fails rather than keeps logins waiting.';
