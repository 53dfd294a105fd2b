-- auth_logs is partitioned by recorded_at: a retry never writes a second row whichever partition holds its original, events of a month without a partition wait in the default one, and create_partitions moves them into their month's partition.
SET timezone = 'UTC';

-- the table and its default partition; months come from create_partitions (the sealer worker's, hourly)
SELECT c.relname, c.relkind, pg_get_partkeydef(c.oid) AS partition_key
FROM pg_class c WHERE c.oid = 'authlog.auth_logs'::regclass;
SELECT partition, lower, upper, is_default FROM authlog.auth_logs_partitions ORDER BY lower NULLS FIRST;

-- events of a month without its partition: in the default one
SELECT decision FROM authlog.record_login('t-part', 'org1', 'p1', false, '192.0.2.1', 'ua', 'web', '{}',
                                          '00000000-0000-4000-8000-9a7700000001');
SELECT decision FROM authlog.record_login('t-part', 'org1', 'p2', true, '192.0.2.2', 'ua', 'web', '{}',
                                          '00000000-0000-4000-8000-9a7700000002');
SELECT tableoid::regclass AS partition, count(*) FROM authlog.auth_logs WHERE tenant_id = 't-part' GROUP BY 1;

-- the month's partition is made, and what the default partition held of it moves in
SELECT authlog.create_partitions(2) AS made;
SELECT count(*) AS partitions, count(*) FILTER (WHERE is_default) AS defaults,
       min(lower) = date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS from_this_month,
       max(upper) = (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months') AT TIME ZONE 'UTC' AS three_months
FROM authlog.auth_logs_partitions;
SELECT tableoid::regclass = ('authlog.auth_logs_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'))::regclass AS in_its_month,
       count(*)
FROM authlog.auth_logs WHERE tenant_id = 't-part' GROUP BY 1;
SELECT count(*) AS left_in_default FROM authlog.auth_logs_default WHERE tenant_id = 't-part';
-- made already: nothing more
SELECT authlog.create_partitions(2) AS made;
SELECT authlog.create_partitions(-1);

-- a retry finds its original in its partition, and writes no second row
SELECT decision, failed_login_attempts FROM authlog.record_login('t-part', 'org1', 'p1', false, '192.0.2.1', 'ua', 'web', '{}',
                                          '00000000-0000-4000-8000-9a7700000001');
SELECT count(*), sum(retry_count) FROM authlog.auth_logs WHERE log_id = '00000000-0000-4000-8000-9a7700000001';

-- across a partition boundary: the original recorded forty days ago, in an older partition
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE authlog.auth_logs SET recorded_at = recorded_at - interval '40 days'
WHERE log_id = '00000000-0000-4000-8000-9a7700000002';
UPDATE authlog.event_ids SET recorded_at = recorded_at - interval '40 days'
WHERE log_id = '00000000-0000-4000-8000-9a7700000002';
COMMIT;
SELECT tableoid::regclass AS partition FROM authlog.auth_logs WHERE log_id = '00000000-0000-4000-8000-9a7700000002';
SELECT decision FROM authlog.record_login('t-part', 'org1', 'p2', true, '192.0.2.2', 'ua', 'web', '{}',
                                          '00000000-0000-4000-8000-9a7700000002');
SELECT count(*), sum(retry_count) FROM authlog.auth_logs WHERE log_id = '00000000-0000-4000-8000-9a7700000002';
-- the same id for another call: refused, nothing written, whichever partition it would go to
\set VERBOSITY terse
SELECT decision FROM authlog.record_login('t-part', 'org1', 'p2', false, '192.0.2.2', 'ua', 'web', '{}',
                                          '00000000-0000-4000-8000-9a7700000002');
SELECT count(*) FROM authlog.auth_logs WHERE log_id = '00000000-0000-4000-8000-9a7700000002';

-- every event has its id, once
SELECT (SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 't-part')
     = (SELECT count(*) FROM authlog.event_ids WHERE tenant_id = 't-part') AS every_event_has_its_id;

-- partitions are append-only like their table
UPDATE authlog.auth_logs_default SET reason = 'x';
DELETE FROM authlog.auth_logs WHERE tenant_id = 't-part';

-- months wholly past that retention emptied are dropped; one that holds an event, this month's and those ahead stay
SET client_min_messages = warning;
CREATE TABLE authlog.auth_logs_2020_01 (LIKE authlog.auth_logs INCLUDING DEFAULTS);
ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.auth_logs_2020_01 FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-02-01 00:00+00');
CREATE TABLE authlog.auth_logs_2020_02 (LIKE authlog.auth_logs INCLUDING DEFAULTS);
ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.auth_logs_2020_02 FOR VALUES FROM ('2020-02-01 00:00+00') TO ('2020-03-01 00:00+00');
RESET client_min_messages;
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE authlog.auth_logs SET recorded_at = '2020-02-10 00:00+00' WHERE log_id = '00000000-0000-4000-8000-9a7700000002';
UPDATE authlog.event_ids SET recorded_at = '2020-02-10 00:00+00' WHERE log_id = '00000000-0000-4000-8000-9a7700000002';
COMMIT;
SELECT count(*) AS partitions FROM authlog.auth_logs_partitions;
SELECT authlog.drop_empty_partitions() AS dropped;
SELECT partition, lower FROM authlog.auth_logs_partitions WHERE lower < '2021-01-01' ORDER BY lower;
SELECT count(*) AS partitions FROM authlog.auth_logs_partitions;
SELECT to_regclass('authlog.auth_logs_2020_01') AS dropped_table;
