-- Decoding benchmark fixtures: one slot per plugin, created before the WAL
-- they all decode, so every plugin reads exactly the same changes.
CREATE PUBLICATION bench_tables FOR TABLE authlog.auth_logs;
CREATE PUBLICATION bench_nothing;
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_authlog', 'authlog');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_wal2json', 'wal2json');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_test_decoding', 'test_decoding');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_pgoutput', 'pgoutput');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_floor', 'pgoutput');

-- Rows as record_login writes them, inserted directly: 1,000 rows a transaction.
CREATE PROCEDURE bench.generate_events(transactions int, rows_per_transaction int)
LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..transactions LOOP
		INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
		                               user_agent, auth_path, occurred_at, recorded_at, metadata, decision,
		                               failed_login_attempts)
		SELECT 'tenant' || (n % 100), gen_random_uuid(), 'org1', 'user' || (n % 10000), 'login_failed',
		       ('203.0.113.' || (n % 250))::inet, 'Mozilla/5.0 (X11; Linux x86_64)', 'web', now(), now(),
		       jsonb_build_object('device', 'bench', 'attempt', n, 'x.forwarded', '192.0.2.1'), 'failed', n % 5
		FROM generate_series(1, rows_per_transaction) n;
		COMMIT;
	END LOOP;
END
$$;

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
