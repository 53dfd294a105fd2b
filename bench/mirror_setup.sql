-- Mirror benchmark fixtures, in a cluster of its own: the event generator
-- and the lag probe.
CREATE EXTENSION IF NOT EXISTS authlog;
CREATE SCHEMA bench;
CREATE TABLE bench.lag (seconds float8);

\ir events.sql

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
