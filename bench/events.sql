-- Rows as record_login writes them, inserted directly, rows_per_transaction
-- a transaction: the WAL the decoding and mirror benchmarks read.  tenant
-- NULL spreads the rows over 100 tenants.
CREATE PROCEDURE bench.generate_events(transactions int, rows_per_transaction int, tenant text DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..transactions LOOP
		INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
		                               user_agent, auth_path, occurred_at, recorded_at, metadata, decision,
		                               failed_login_attempts)
		SELECT coalesce(tenant, 'tenant' || (n % 100)), gen_random_uuid(), 'org1', 'user' || (n % 10000),
		       'login_failed', ('203.0.113.' || (n % 250))::inet, 'Mozilla/5.0 (X11; Linux x86_64)', 'web',
		       now(), now(), jsonb_build_object('device', 'bench', 'attempt', n, 'x.forwarded', '192.0.2.1'),
		       'failed', n % 5
		FROM generate_series(1, rows_per_transaction) n;
		COMMIT;
	END LOOP;
END
$$;
