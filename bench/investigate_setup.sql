-- The investigation benchmark's data: 5,000,000 events (by default) over 100
-- tenants of 200 accounts each, ten days from 2026-01-01, inserted directly
-- in the shape record_login writes; and a reader granted every tenant, so the
-- functions also run under row-level security.
CREATE PROCEDURE bench.generate_investigation(total bigint)
LANGUAGE plpgsql AS $$
DECLARE
	step constant interval := interval '10 days' / total;
BEGIN
	FOR chunk IN 0..(total - 1) / 500000 LOOP
		INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
		                               user_agent, auth_path, occurred_at, recorded_at, metadata, decision,
		                               failed_login_attempts)
		SELECT 'inv-' || (n % 100), gen_random_uuid(), 'org-' || (n % 3), 'user' || ((n / 100) % 200),
		       (ARRAY['login_failed', 'login_failed', 'login_failed', 'login_success', 'account_locked', 'lockout_reset'])[1 + n % 6]::authlog.event_type,
		       ('10.' || (n % 97) || '.' || (n % 13) || '.' || (n % 251))::inet, 'Mozilla/5.0', 'web',
		       timestamptz '2026-01-01 00:00+00' + n * step, now(), '{}', 'failed', n % 5
		FROM generate_series(chunk * 500000, least((chunk + 1) * 500000, total) - 1) n;
		COMMIT;
	END LOOP;
END
$$;

CREATE ROLE bench_reader LOGIN;
SELECT authlog.grant_reader('bench_reader', 'inv-' || t) FROM generate_series(0, 99) t;
GRANT USAGE ON SCHEMA bench TO bench_reader;
