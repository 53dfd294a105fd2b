-- Every column and every JSON value reaches the change message exactly: uuid as BSON UUID, timestamps as a date plus exact microseconds, numbers as int32/int64/double where exact and {"%decimal": text} otherwise, keys with "." or a leading "$" percent-escaped, nested arrays wrapped.
SELECT 'init' FROM pg_create_logical_replication_slot('regress_authlog_types', 'authlog');

SELECT decision FROM authlog.record_login('t-types', 'o1', 'ünïcødé 用户', false, '2001:db8::ffff:1', E'tab\there', 'sso',
	'{"int": 42, "negative": -7, "int64": 9007199254740993, "max_int64": 9223372036854775807,
	  "beyond_int64": 9223372036854775808, "forty_digits": 1234567890123456789012345678901234567890,
	  "huge": 1e400, "tiny": 1e-400, "fraction": 0.1, "double": 2.5, "one_point_zero": 1.0,
	  "negative_zero": -0.0, "nested": [[1, [2, []]], {"a": []}], "empty_object": {}, "empty_array": [],
	  "a.b": 1, "$where": "1 == 1", "{\"$gt\": \"\"}": "operator-shaped key", "100%": "percent",
	  "mid$dle": "kept", "unicode": "ü€😀", "null": null, "true": true, "false": false}',
	'00000000-0000-4000-8000-0000000de001', '2026-03-04 05:06:07.891234+00');

CREATE TEMP TABLE msg AS
SELECT authlog.bson_to_json(data) AS m
FROM pg_logical_slot_get_binary_changes('regress_authlog_types', NULL, NULL) c
WHERE authlog.bson_to_json(c.data) ->> 'table' = 'auth_logs';

-- columns
SELECT m -> 'doc' -> 'log_id' AS uuid_subtype_4,
       m -> 'doc' ->> 'user_id' AS user_id,
       m -> 'doc' ->> 'ip_address' AS ip,
       m -> 'doc' ->> 'user_agent' AS user_agent,
       m -> 'doc' ->> 'auth_path' AS enum_as_string,
       m -> 'doc' -> 'failed_login_attempts' AS int32,
       m -> 'doc' -> 'account_locked_until' AS null_timestamp,
       m -> 'doc' -> 'account_locked_until_us' AS null_companion
FROM msg;

-- timestamps: a date in milliseconds and the exact microseconds since 1970
SELECT m -> 'doc' -> 'occurred_at' AS occurred_at,
       m -> 'doc' -> 'occurred_at_us' AS occurred_at_us,
       to_timestamp((m -> 'doc' -> 'occurred_at_us' ->> '$numberLong')::numeric / 1000000) AT TIME ZONE 'UTC' AS back
FROM msg;
SELECT (m -> 'doc' -> 'recorded_at_us' ->> '$numberLong')::bigint =
       ((extract(epoch FROM (SELECT recorded_at FROM authlog.auth_logs WHERE tenant_id = 't-types')) * 1000000)::bigint) AS recorded_at_exact
FROM msg;

-- metadata, key by key
SELECT key, value FROM msg, jsonb_each(m -> 'doc' -> 'metadata') ORDER BY key;

-- the conversion without decoding: jsonb_to_bson and back
SELECT authlog.bson_to_json(authlog.jsonb_to_bson('{"x.y": {"$z": [[[1]]]}, "%": 1.5e300}'));
SELECT authlog.bson_to_json(authlog.jsonb_to_bson('[1, 2]'));
SELECT authlog.bson_to_json(authlog.jsonb_to_bson('"scalar"'));
SELECT authlog.bson_to_json(authlog.jsonb_to_bson('{}'));

-- bson_to_json refuses what is not one whole BSON document
SELECT try($$SELECT authlog.bson_to_json('\x00')$$);
SELECT try($$SELECT authlog.bson_to_json('\x0500000001')$$);
SELECT try($$SELECT authlog.bson_to_json(substr(authlog.jsonb_to_bson('{"a": "bcd"}'), 1, 10))$$);
SELECT try($$SELECT authlog.bson_to_json(authlog.jsonb_to_bson('{"a": 1}') || '\x00'::bytea)$$);
-- nothing deeper than MongoDB's 100 levels is converted (it would be elided, not converted)
SELECT try(format($$SELECT authlog.bson_to_json(authlog.jsonb_to_bson(%L))$$,
                  repeat('{"a": ', 101) || '1' || repeat('}', 101)));

-- an enum's label as it was when the row committed: the decoder keeps
-- labels by value, and a renamed label (ALTER TYPE ... RENAME VALUE)
-- reaches the rows after the rename within the same decoding
SELECT pg_replication_slot_advance('regress_authlog_types', pg_current_wal_lsn()) IS NOT NULL AS skipped;
SELECT decision FROM authlog.record_login('t-enum', 'o1', 'enum-user', true, '192.0.2.1', 'a', 'sso');
ALTER TYPE authlog.auth_path RENAME VALUE 'sso' TO 'sso_renamed';
SELECT decision FROM authlog.record_login('t-enum', 'o1', 'enum-user', true, '192.0.2.1', 'a', 'sso_renamed');
ALTER TYPE authlog.auth_path RENAME VALUE 'sso_renamed' TO 'sso';
SELECT decision FROM authlog.record_login('t-enum', 'o1', 'enum-user', true, '192.0.2.1', 'a', 'sso');
SELECT authlog.bson_to_json(data) -> 'doc' ->> 'auth_path' AS auth_path
FROM pg_logical_slot_get_binary_changes('regress_authlog_types', NULL, NULL) c
WHERE authlog.bson_to_json(c.data) ->> 'table' = 'auth_logs'
ORDER BY lsn;

SELECT pg_drop_replication_slot('regress_authlog_types');

-- inet as inet_out writes it, IPv4 (formatted by authlog) and IPv6 (by PostgreSQL): every
-- octet, the mask length unless it is the whole address
SELECT 'init' FROM pg_create_logical_replication_slot('regress_authlog_inet', 'authlog');
SELECT count(*) FROM (
	SELECT authlog.record_login('t-inet', 'o1', 'u' || n, true, ip::inet, 'ua', 'web', '{}')
	FROM unnest(ARRAY['0.0.0.0', '255.255.255.255', '203.0.113.7', '10.0.0.0/8', '192.0.2.1/24',
	                  '1.2.3.4/0', '100.64.9.10/31', '::ffff:1.2.3.4', '2001:db8::/32', '::1'])
	     WITH ORDINALITY AS a(ip, n)) calls;
SELECT l.user_id, m -> 'doc' ->> 'ip_address' AS decoded, m -> 'doc' ->> 'ip_address' = format('%s', l.ip_address) AS as_inet_out
FROM pg_logical_slot_get_binary_changes('regress_authlog_inet', NULL, NULL, 'tables', 'auth_logs') c,
     LATERAL authlog.bson_to_json(c.data) m
     JOIN authlog.auth_logs l ON l.tenant_id = 't-inet' AND l.user_id = m -> 'doc' ->> 'user_id'
ORDER BY substr(l.user_id, 2)::int;
SELECT pg_drop_replication_slot('regress_authlog_inet');
