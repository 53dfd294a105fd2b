-- Decoding benchmark fixtures: one slot per plugin, created before the WAL
-- they all decode, so every plugin reads exactly the same changes.
CREATE PUBLICATION bench_tables FOR TABLE authlog.auth_logs;
CREATE PUBLICATION bench_nothing;
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_authlog', 'authlog');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_wal2json', 'wal2json');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_test_decoding', 'test_decoding');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_pgoutput', 'pgoutput');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_floor', 'pgoutput');

\ir events.sql

-- Seconds one plugin takes to decode everything its slot holds, timed in the server.
CREATE FUNCTION bench.decode_seconds(slot text, binary_output boolean, VARIADIC options text[])
RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
	started timestamptz := clock_timestamp();
	messages bigint;
BEGIN
	IF binary_output THEN
		SELECT count(*) INTO messages FROM pg_logical_slot_peek_binary_changes(slot, NULL, NULL, VARIADIC options);
	ELSE
		SELECT count(*) INTO messages FROM pg_logical_slot_peek_changes(slot, NULL, NULL, VARIADIC options);
	END IF;
	RETURN extract(epoch FROM clock_timestamp() - started);
END
$$;
