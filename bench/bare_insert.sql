\set t random(1, 100)
\set u random(1, 10000)
INSERT INTO bench.bare_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address, user_agent, auth_path,
                             occurred_at, recorded_at, metadata, decision, failed_login_attempts)
VALUES ('tenant' || :t, gen_random_uuid(), 'org1', 'user' || :u, 'login_failed', '203.0.113.7', 'Mozilla/5.0', 'web',
        now(), now(), '{"device": "bench"}', 'failed', 1);
