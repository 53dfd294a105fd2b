-- The output plugin "authlog" emits one change message per committed row change of auth_logs and account_lockouts, and nothing for aborted transactions or other tables.
SELECT 'init' FROM pg_create_logical_replication_slot('regress_authlog', 'authlog');

-- what a message says, without the volatile parts (LSNs, times, random ids)
CREATE FUNCTION pg_temp.messages(fmt text DEFAULT 'bson')
RETURNS TABLE (op text, tbl text, user_id text, event_type text, reason text, decision text,
               failures jsonb, retries jsonb, unchanged jsonb)
LANGUAGE sql AS $$
	SELECT m ->> 'op', m ->> 'table', m -> 'doc' ->> 'user_id', m -> 'doc' ->> 'event_type',
	       m -> 'doc' ->> 'reason', m -> 'doc' ->> 'decision',
	       m -> 'doc' -> 'failed_login_attempts', m -> 'doc' -> 'retry_count', m -> 'unchanged'
	FROM pg_logical_slot_get_binary_changes('regress_authlog', NULL, NULL, 'format', fmt) c,
	     LATERAL (SELECT CASE fmt WHEN 'json' THEN convert_from(c.data, 'UTF8')::jsonb
	                              ELSE authlog.bson_to_json(c.data) END) j(m)
$$;

CREATE TABLE public.not_authlog (id int PRIMARY KEY, v text);

-- a committed attempt on a new account: the account row, created with its state after the failure, and the event
SET authlog.max_failed_attempts = 2;
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', false, '192.0.2.1', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-00000000d001');
SELECT * FROM pg_temp.messages();

-- a rolled-back attempt, another table, and authlog's configuration tables: nothing
BEGIN;
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', false, '192.0.2.1', 'ua', 'web');
ROLLBACK;
INSERT INTO public.not_authlog VALUES (1, 'x');
SELECT authlog.set_lockout_policy('t-dec-2', 3, '1 minute', '1 minute');
SELECT count(*) AS messages FROM pg_temp.messages();

-- the failure that locks: the event, the account_locked event and the account update
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', false, '192.0.2.1', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-00000000d002');
SELECT * FROM pg_temp.messages();

-- a refused attempt while locked: one event, the account row does not change
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', true, '192.0.2.1', 'ua', 'web');
SELECT * FROM pg_temp.messages();

-- a retry is an update of the event's retry_count
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', false, '192.0.2.1', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-00000000d002');
SELECT * FROM pg_temp.messages();

-- expiry, then a success: lockout_reset (expired), login_success, account update
UPDATE authlog.account_lockouts SET account_locked_until = now() - interval '1 second'
WHERE tenant_id = 't-dec' AND user_id = 'ada';
SELECT * FROM pg_temp.messages();
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', true, '192.0.2.1', 'ua', 'web');
SELECT * FROM pg_temp.messages() ORDER BY tbl, event_type;

-- a failure then a success: the success's lockout_reset; an admin reset
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', false, '192.0.2.1', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'ada', true, '192.0.2.1', 'ua', 'web');
SELECT authlog.reset_lockout('t-dec', 'o1', 'ada', 'helpdesk') IS NOT NULL AS reset;
SELECT * FROM pg_temp.messages() ORDER BY tbl, event_type, reason, failures;
RESET authlog.max_failed_attempts;

-- a deleted lockout row is a delete carrying only its key
DELETE FROM authlog.account_lockouts WHERE tenant_id = 't-dec' AND user_id = 'ada';
SELECT m ->> 'op' AS op, m -> '_id' AS id, m ? 'doc' AS has_doc
FROM pg_logical_slot_get_binary_changes('regress_authlog', NULL, NULL) c, LATERAL authlog.bson_to_json(c.data) m;

-- the envelope: keys, commit position and time, and the same _id inside the document
SELECT decision FROM authlog.record_login('t-dec', 'o1', 'bea', true, '192.0.2.2', 'ua', 'mobile',
       log_id => '00000000-0000-4000-8000-00000000d003');
SELECT m ->> 'op' AS op, m -> '_id' AS id, m -> 'doc' -> '_id' = m -> '_id' AS doc_id_matches,
       (m -> 'commit_lsn' ->> '$numberLong')::bigint < (m -> 'end_lsn' ->> '$numberLong')::bigint AS commit_before_end,
       m -> 'commit_time' ? '$date' AS commit_date,
       (m -> 'commit_time_us' ->> '$numberLong')::bigint / 1000 = (m -> 'commit_time' -> '$date' ->> '$numberLong')::bigint AS commit_us_matches_date,
       m -> 'doc' ->> 'ip_address' AS ip, m -> 'doc' ->> 'auth_path' AS path,
       m -> 'doc' -> 'metadata' AS metadata
FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL) c, LATERAL authlog.bson_to_json(c.data) m;

-- format json is the same message, as text
SELECT (SELECT authlog.bson_to_json(data) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL))
     = (SELECT convert_from(data, 'UTF8')::jsonb FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'format', 'json'))
     AS json_equals_bson;
SELECT count(*) FROM pg_logical_slot_peek_changes('regress_authlog', NULL, NULL, 'format', 'json');

-- include_transaction adds begin and commit markers around each transaction with changes
SELECT m ->> 'op' AS op, m ? 'xid' AS has_xid, m ? 'commit_lsn' AS has_lsn, m ? 'commit_time' AS has_time
FROM pg_logical_slot_get_binary_changes('regress_authlog', NULL, NULL, 'include_transaction', 'on') c,
     LATERAL authlog.bson_to_json(c.data) m;

-- tables and operations narrow what is decoded (the sealer reads inserts into auth_logs only)
SELECT decision FROM authlog.record_login('t-filter', 'o1', 'fil', false, '192.0.2.1', 'ua', 'web', '{}',
                                          '00000000-0000-4000-8000-00000000f117');
SELECT decision FROM authlog.record_login('t-filter', 'o1', 'fil', false, '192.0.2.1', 'ua', 'web', '{}',
                                          '00000000-0000-4000-8000-00000000f117');
CREATE FUNCTION pg_temp.decoded(VARIADIC options text[] DEFAULT '{}')
RETURNS TABLE (op text, tbl text, messages bigint)
LANGUAGE sql AS $$
	SELECT m ->> 'op', m ->> 'table', count(*)
	FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, VARIADIC options) c,
	     LATERAL authlog.bson_to_json(c.data) m
	GROUP BY 1, 2 ORDER BY 1, 2
$$;
SELECT * FROM pg_temp.decoded();
SELECT * FROM pg_temp.decoded('tables', 'auth_logs', 'operations', 'insert');
SELECT * FROM pg_temp.decoded('tables', 'account_lockouts, auth_logs', 'operations', 'update');
SELECT * FROM pg_temp.decoded('operations', 'delete,truncate');
SELECT count(*) FROM pg_logical_slot_get_binary_changes('regress_authlog', NULL, NULL);

-- the store's _id is one scalar, each key column's byte length before it:
-- keys that would join to the same text ("a,b" + "c", "a" + "b,c") never share one
SELECT decision FROM authlog.record_login('a,b', 'o1', 'c', false, '192.0.2.3', 'ua', 'web');
SELECT decision FROM authlog.record_login('a', 'o1', 'b,c', false, '192.0.2.3', 'ua', 'web');
SELECT m -> 'doc' ->> 'tenant_id' AS tenant, m -> 'doc' ->> 'user_id' AS user_id, m -> '_id' AS id
FROM pg_logical_slot_get_binary_changes('regress_authlog', NULL, NULL, 'tables', 'account_lockouts') c,
     LATERAL authlog.bson_to_json(c.data) m
ORDER BY 1;

-- the same rule, spelled out in SQL, for keys of every kind of byte: multi-byte characters,
-- the separators themselves, quotes, and a key longer than 256 bytes
SELECT count(*) FROM (
	SELECT authlog.record_login(t, 'o1', u, false, '192.0.2.5', 'ua', 'web')
	FROM (VALUES ('tënant 租户', 'ü,1:x'), ('a:b', $q$':"$q$), ('t-long', repeat('é', 200)), ('1', '2,3')) v(t, u)) calls;
SELECT m -> 'doc' ->> 'tenant_id' AS tenant, left(m -> 'doc' ->> 'user_id', 12) AS user_id,
       m ->> '_id' = octet_length(m -> 'doc' ->> 'tenant_id') || ':' || (m -> 'doc' ->> 'tenant_id') || ','
                     || octet_length(m -> 'doc' ->> 'user_id') || ':' || (m -> 'doc' ->> 'user_id') AS lockout_id_by_the_rule,
       m -> 'doc' ->> '_id' = m ->> '_id' AS doc_too
FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'tables', 'account_lockouts') c,
     LATERAL authlog.bson_to_json(c.data) m
ORDER BY 1;
SELECT count(*) AS events, count(*) FILTER (WHERE m ->> '_id' = octet_length(m -> 'doc' ->> 'tenant_id') || ':'
                                                 || (m -> 'doc' ->> 'tenant_id') || ',36:' || l.log_id) AS event_ids_by_the_rule
FROM pg_logical_slot_get_binary_changes('regress_authlog', NULL, NULL, 'tables', 'auth_logs') c,
     LATERAL authlog.bson_to_json(c.data) m
     JOIN authlog.auth_logs l ON l.tenant_id = m -> 'doc' ->> 'tenant_id' AND l.user_id = m -> 'doc' ->> 'user_id';

-- document 'digest' (the sealer's stream): each document in the form a seal digests, hashed
-- as it comes: the _id of the message and of its doc is the document of the key columns,
-- retry_count is left out and a nested "_id" key is written as 1.0 wrote it (a literal
-- "%5Fid" stays escaped); the default is the store's document, with its scalar _id.
-- Its bytes digest to event_digest's (checked by the sealer against the rows and, in
-- TAP 090 and 110, against the store's copies brought to the form)
SELECT decision FROM authlog.record_login('t-key', 'o1', 'kd', false, '192.0.2.4', 'ua', 'web',
                                          '{"a": {"_id": 1, "%5Fid": 2}, "retry_count": 3}',
                                          '00000000-0000-4000-8000-00000000ced1');
SELECT m -> '_id' AS id, m -> 'doc' -> '_id' = m -> '_id' AS doc_too, m -> 'doc' ->> 'user_id' AS user_id,
       m -> 'doc' ? 'retry_count' AS retry_count, m -> 'doc' -> 'metadata' AS metadata
FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'tables', 'auth_logs',
                                         'operations', 'insert', 'document', 'digest') c,
     LATERAL authlog.bson_to_json(c.data) m;
SELECT m -> '_id' AS id, m -> 'doc' ? 'retry_count' AS retry_count, m -> 'doc' -> 'metadata' AS metadata
FROM pg_logical_slot_get_binary_changes('regress_authlog', NULL, NULL, 'tables', 'auth_logs',
                                        'operations', 'insert', 'document', 'store') c,
     LATERAL authlog.bson_to_json(c.data) m;

-- option errors name the option
\set VERBOSITY default
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'fromat', 'json');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'format', 'xml');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'format', 'json', 'format', 'bson');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'include_transaction', 'maybe');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'tables', 'auth_logs, users');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'operations', '');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'operations', 'insert', 'operations', 'update');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'document', 'key');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regress_authlog', NULL, NULL, 'document', 'digest', 'document', 'digest');
-- bson is binary: the textual function refuses it
SELECT count(*) FROM pg_logical_slot_peek_changes('regress_authlog', NULL, NULL);
\set VERBOSITY terse

SELECT pg_drop_replication_slot('regress_authlog');
DROP TABLE public.not_authlog;
