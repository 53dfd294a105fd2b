-- Mirror benchmark fixtures, in a cluster of its own: the event generator
-- and the lag probe.
CREATE EXTENSION IF NOT EXISTS authlog;
CREATE SCHEMA bench;
CREATE TABLE bench.lag (seconds float8);

CREATE PROCEDURE bench.generate_events(transactions int, rows_per_transaction int, tenant text)
LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..transactions LOOP
		INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
		                               user_agent, auth_path, occurred_at, recorded_at, metadata, decision,
		                               failed_login_attempts)
		SELECT tenant, gen_random_uuid(), 'org1', 'user' || (n % 10000), 'login_failed',
		       ('203.0.113.' || (n % 250))::inet, 'Mozilla/5.0 (X11; Linux x86_64)', 'web', now(), now(),
		       jsonb_build_object('device', 'bench', 'attempt', n), 'failed', n % 5
		FROM generate_series(1, rows_per_transaction) n;
		COMMIT;
	END LOOP;
END
$$;

-- From just before a login's commit until the store acknowledged it (the
-- worker advances its slot past a batch only after the acknowledgement).
CREATE PROCEDURE bench.probe_lag(probes int)
LANGUAGE plpgsql AS $$
DECLARE
	target pg_lsn;
	started timestamptz;
BEGIN
	FOR i IN 1..probes LOOP
		PERFORM authlog.record_login('probe', 'o1', 'probe' || i, true, '192.0.2.1', 'probe', 'web');
		target := pg_current_wal_insert_lsn();
		started := clock_timestamp();
		COMMIT;
		LOOP
			EXIT WHEN (SELECT confirmed_lsn FROM authlog.mirror_worker_status()) >= target;
			PERFORM pg_sleep(0.002);
		END LOOP;
		INSERT INTO bench.lag VALUES (extract(epoch FROM clock_timestamp() - started));
		COMMIT;
		PERFORM pg_sleep(0.02);
	END LOOP;
END
$$;
