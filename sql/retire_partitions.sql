-- Retention retires a partition of auth_logs whole (records naming every event per seal, then the partition dropped or archived) when every event in it is past its tenant's retention, sealed before it and under no hold; otherwise batches go around what stays.
-- The sealer works in authlog.database, not here: seals are written by hand (as in retention.sql).
SET timezone = 'UTC';
SET authlog.max_clock_skew = '5min';

CREATE FUNCTION pg_temp.event_id(n integer) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$ SELECT ('00000000-0000-4000-8000-5e7a' || lpad(n::text, 8, '0'))::uuid $$;

\i test/fixtures/seal_by_hand.sql

-- Events recorded at a time long past: moved (past the triggers) before they are sealed
CREATE FUNCTION pg_temp.recorded_on(ids uuid[], at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	SET LOCAL session_replication_role = replica;
	UPDATE authlog.auth_logs SET recorded_at = at, occurred_at = at WHERE log_id = ANY (ids);
	UPDATE authlog.event_ids SET recorded_at = at WHERE log_id = ANY (ids);
	SET LOCAL session_replication_role = origin;
END
$$;

CREATE FUNCTION pg_temp.login(tenant text, u text, n integer) RETURNS void
LANGUAGE sql AS $$
	SELECT FROM authlog.record_login(tenant, 'org1', u, true, '192.0.2.1', 'ua', 'web', '{}', pg_temp.event_id(n))
$$;

-- Four months of 2019, made as the worker makes them
SET client_min_messages = warning;
DO $$
BEGIN
	FOR m IN 1 .. 4 LOOP
		EXECUTE format('CREATE TABLE authlog.%I (LIKE authlog.auth_logs INCLUDING DEFAULTS)', 'auth_logs_2019_0' || m);
		EXECUTE format('ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.%I FOR VALUES FROM (%L) TO (%L)',
		               'auth_logs_2019_0' || m, make_timestamptz(2019, m, 1, 0, 0, 0, 'UTC'),
		               make_timestamptz(2019, m + 1, 1, 0, 0, 0, 'UTC'));
	END LOOP;
END
$$;
RESET client_min_messages;

-- January: t-m1's events 1-3 and t-m2's 10.  February: t-m1's 4 (sealed with 1-3: a seal across
-- the boundary) and t-m3's 20.  March: t-m1's 5 and 6.  April: t-m1's 7, never sealed.
SELECT count(*) AS logins FROM (SELECT pg_temp.login('t-m1', 'u' || n, n) FROM generate_series(1, 7) n) l;
SELECT pg_temp.login('t-m2', 'v1', 10);
SELECT pg_temp.login('t-m3', 'w1', 20);
SELECT pg_temp.recorded_on(ARRAY[pg_temp.event_id(1), pg_temp.event_id(2), pg_temp.event_id(3)], '2019-01-10');
SELECT pg_temp.recorded_on(ARRAY[pg_temp.event_id(10)], '2019-01-15');
SELECT pg_temp.recorded_on(ARRAY[pg_temp.event_id(4)], '2019-02-10');
SELECT pg_temp.recorded_on(ARRAY[pg_temp.event_id(20)], '2019-02-20');
SELECT pg_temp.recorded_on(ARRAY[pg_temp.event_id(5), pg_temp.event_id(6)], '2019-03-05');
SELECT pg_temp.recorded_on(ARRAY[pg_temp.event_id(7)], '2019-04-05');
SELECT pg_temp.seal_by_hand('t-m1', ARRAY[pg_temp.event_id(1), pg_temp.event_id(2), pg_temp.event_id(3), pg_temp.event_id(4)],
                            '2019-02-11');
SELECT pg_temp.seal_by_hand('t-m2', ARRAY[pg_temp.event_id(10)], '2019-01-16');
SELECT pg_temp.seal_by_hand('t-m3', ARRAY[pg_temp.event_id(20)], '2019-02-21');
SELECT pg_temp.seal_by_hand('t-m1', ARRAY[pg_temp.event_id(5), pg_temp.event_id(6)], '2019-03-06');
SELECT partition, count(*) FROM (SELECT tableoid::regclass::text AS partition FROM authlog.auth_logs
                                 WHERE tenant_id IN ('t-m1', 't-m2', 't-m3')) e GROUP BY 1 ORDER BY 1;

-- No retention set: nothing is due
SELECT * FROM authlog.retire_partition();

-- t-m1 and t-m2 keep a year; t-m3 for ever (the default); a hold keeps t-m1's u6 of March
SELECT authlog.set_retention('t-m1', interval '1 year', 'records officer') IS NOT NULL AS set;
SELECT authlog.set_retention('t-m2', interval '1 year', 'records officer') IS NOT NULL AS set;
SELECT authlog.place_hold('t-m1', '2019-03-01', '2019-04-01', 'CASE-7', 'counsel', user_id => 'u6') IS NOT NULL AS held;

-- January is due whole: one record per seal naming its events there, then the partition dropped
SELECT * FROM authlog.retire_partition();
SELECT to_regclass('authlog.auth_logs_2019_01') AS january;
SELECT tenant_id, seal_no, retired = ARRAY[pg_temp.event_id(1), pg_temp.event_id(2), pg_temp.event_id(3)] AS first_three,
       cardinality(retired) AS retired, kept, actor, reason
FROM authlog.records_log WHERE action = 'retired' AND tenant_id IN ('t-m1', 't-m2') ORDER BY tenant_id, seal_no;
SELECT count(*) AS ids_left FROM authlog.event_ids
WHERE log_id = ANY (ARRAY[pg_temp.event_id(1), pg_temp.event_id(2), pg_temp.event_id(3), pg_temp.event_id(10)]);
SELECT tenant_id, last_retired FROM authlog.retention_runs WHERE tenant_id IN ('t-m1', 't-m2') ORDER BY 1;

-- Both verifiers of the database: retired, with the record, and the rest ok
SELECT tenant_id, seal_no, status, regexp_replace(detail, 'record \S+ at .*? UTC:', 'record R at T:') AS detail
FROM authlog.verify_seals() WHERE tenant_id IN ('t-m1', 't-m2', 't-m3') ORDER BY tenant_id, seal_no, status;

-- None else is due: February holds t-m3's event (kept for ever), March one a hold covers, April one unsealed
SELECT * FROM authlog.retire_partition();
SELECT partition, lower FROM authlog.auth_logs_partitions WHERE lower < '2020-01-01' ORDER BY lower;

-- Archived instead of dropped: February, once t-m3 keeps a year too
SELECT authlog.set_retention('t-m3', interval '1 year', 'records officer') IS NOT NULL AS set;
SET authlog.retired_partitions = 'archive';
SELECT * FROM authlog.retire_partition();
RESET authlog.retired_partitions;
SELECT tenant_id, count(*) FROM authlog_archive.auth_logs_2019_02 GROUP BY 1 ORDER BY 1;
SELECT count(*) AS february_in_auth_logs FROM authlog.auth_logs WHERE recorded_at >= '2019-02-01' AND recorded_at < '2019-03-01';
SELECT tenant_id, seal_no, cardinality(retired) AS retired, kept
FROM authlog.records_log WHERE action = 'retired' AND reason LIKE '%auth_logs_2019_02%' ORDER BY tenant_id;
SELECT tenant_id, seal_no, status FROM authlog.verify_seals() WHERE tenant_id IN ('t-m1', 't-m3') ORDER BY 1, 2, 3;

-- The hold keeps March whole; a pass retires around it: 5 goes by a batch, 6 stays
CALL authlog.run_retention();
SELECT log_id = pg_temp.event_id(6) AS is_six FROM authlog.auth_logs WHERE recorded_at >= '2019-03-01' AND recorded_at < '2019-04-01';
-- released, what is left of March goes whole, by the next pass
SELECT authlog.release_hold((SELECT hold_id FROM authlog.legal_holds WHERE tenant_id = 't-m1'), 'counsel', 'case closed');
CALL authlog.run_retention();
SELECT to_regclass('authlog.auth_logs_2019_03') AS march;
-- April, once sealed
SELECT * FROM authlog.retire_partition();
SELECT pg_temp.seal_by_hand('t-m1', ARRAY[pg_temp.event_id(7)], '2019-04-06');
SELECT partition, retired, records FROM authlog.retire_partition();
SELECT tenant_id, seal_no, status, regexp_replace(detail, 'record \S+ at .*? UTC:', 'record R at T:') AS detail
FROM authlog.verify_seals() WHERE tenant_id = 't-m1' ORDER BY seal_no, status, detail;

-- Only a month's partition, every event named: the step before the drop refuses anything else
\set VERBOSITY terse
SELECT * FROM authlog.retire_partition_events('authlog.auth_logs_default', '{}', '{}', '{}', 'x');
SET client_min_messages = warning;
CREATE TABLE authlog.auth_logs_2019_05 (LIKE authlog.auth_logs INCLUDING DEFAULTS);
ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.auth_logs_2019_05 FOR VALUES FROM ('2019-05-01') TO ('2019-06-01');
RESET client_min_messages;
SELECT pg_temp.login('t-m4', 'x2', 31);
SELECT pg_temp.recorded_on(ARRAY[pg_temp.event_id(31)], '2019-05-20');
SELECT * FROM authlog.retire_partition_events('authlog.auth_logs_2019_05', ARRAY['t-m4'], ARRAY[now()], ARRAY['r'], 'x');
SELECT count(*) AS records_of_t_m4 FROM authlog.records_log WHERE tenant_id = 't-m4';

-- Granted to records managers; nobody else
CREATE ROLE ret_clerk;
SET ROLE ret_clerk;
SELECT * FROM authlog.retire_partition();
RESET ROLE;
SELECT authlog.grant_records_manager('ret_clerk');
SET ROLE ret_clerk;
SELECT * FROM authlog.retire_partition();
SELECT * FROM authlog.retire_partition_events('authlog.auth_logs_2019_05', ARRAY['t-m4'], ARRAY[now()], ARRAY['r'], 'x');
RESET ROLE;
SELECT authlog.revoke_records_manager('ret_clerk');
DROP OWNED BY ret_clerk;
DROP ROLE ret_clerk;

-- A partition the step before the drop refuses (here: an event whose id is missing) is left,
-- with a warning and nothing written, and the pass goes on; retention never stalls on it
SELECT pg_temp.seal_by_hand('t-m4', ARRAY[pg_temp.event_id(31)], '2019-05-21');
SELECT authlog.set_retention('t-m4', interval '1 year', 'records officer') IS NOT NULL AS set;
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM authlog.event_ids WHERE log_id = pg_temp.event_id(31);
COMMIT;
\set VERBOSITY default
SELECT * FROM authlog.retire_partition();
SELECT to_regclass('authlog.auth_logs_2019_05') IS NOT NULL AS still_there,
       (SELECT count(*) FROM authlog.records_log WHERE tenant_id = 't-m4' AND action = 'retired') AS records;
