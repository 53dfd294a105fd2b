-- An update whose new row leaves unchanged TOASTed columns out lists them in "unchanged" and leaves them out of "doc"; large transactions spill to disk past logical_decoding_work_mem and still decode whole.
SELECT 'init' FROM pg_create_logical_replication_slot('regress_authlog_toast', 'authlog');
SET logical_decoding_work_mem = '64kB';

-- > 8 kB of incompressible metadata (hex digests do not compress)
SELECT decision FROM authlog.record_login('t-toast', 'o1', 'big', false, '192.0.2.1', 'ua', 'web',
       (SELECT jsonb_object_agg('k' || i, md5(i::text) || md5((i * 7)::text)) FROM generate_series(1, 400) i),
       '00000000-0000-4000-8000-0000000f7001');
SELECT pg_column_size(metadata) > 8192 AS toasted_size FROM authlog.auth_logs WHERE tenant_id = 't-toast';

-- its retry updates retry_count only
SELECT decision FROM authlog.record_login('t-toast', 'o1', 'big', false, '192.0.2.1', 'ua', 'web',
       (SELECT jsonb_object_agg('k' || i, md5(i::text) || md5((i * 7)::text)) FROM generate_series(1, 400) i),
       '00000000-0000-4000-8000-0000000f7001');

SELECT m ->> 'op' AS op, m ->> 'table' AS tbl, m -> 'unchanged' AS unchanged,
       m -> 'doc' ? 'metadata' AS has_metadata,
       (SELECT count(*) FROM jsonb_object_keys(m -> 'doc' -> 'metadata')) AS metadata_keys,
       m -> 'doc' -> 'retry_count' AS retry_count
FROM pg_logical_slot_get_binary_changes('regress_authlog_toast', NULL, NULL) c,
     LATERAL authlog.bson_to_json(c.data) m
WHERE m ->> 'table' = 'auth_logs';

-- 2,000 events in one transaction spill past 64kB and decode whole, each once
SELECT count(*) FROM (
	SELECT authlog.record_login('t-toast', 'o1', 'u' || i, true, '192.0.2.1', repeat('x', 200) || i, 'web',
	                            jsonb_build_object('i', i))
	FROM generate_series(1, 2000) i) s;
SELECT count(*) AS messages, count(DISTINCT m -> 'doc' -> 'metadata' -> 'i') AS distinct_events,
       min((m -> 'doc' -> 'metadata' -> 'i' ->> '$numberInt')::int) AS first,
       max((m -> 'doc' -> 'metadata' -> 'i' ->> '$numberInt')::int) AS last
FROM pg_logical_slot_get_binary_changes('regress_authlog_toast', NULL, NULL) c,
     LATERAL authlog.bson_to_json(c.data) m;
SELECT spill_txns > 0 AS spilled FROM pg_stat_replication_slots WHERE slot_name = 'regress_authlog_toast';

RESET logical_decoding_work_mem;
SELECT pg_drop_replication_slot('regress_authlog_toast');
