-- An event no seal lists is reported as unsealed once it committed longer ago than authlog.seal_interval and authlog.max_clock_skew, whether or not its tenant has a seal: a sealer that never saw it (its slot consumed by another session) leaves a trace.
-- (the sealer works in another database: here nothing is sealed but by hand)
SET authlog.max_clock_skew = 0;
SHOW authlog.seal_interval;
-- a tenant that never had a seal: one event committed two minutes ago, one just now
INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, occurred_at, recorded_at, metadata, decision, failed_login_attempts)
VALUES ('t-unsealed', '00000000-0000-4000-8000-00000000a5e1', 'o1', 'u1', 'login_failed', now() - interval '2 minutes', now() - interval '2 minutes', '{}', 'failed', 1);
SELECT decision FROM authlog.record_login('t-unsealed', 'o1', 'u2', false, NULL, NULL, 'web');
SELECT tenant_id, seal_no, status, log_id FROM authlog.verify_seals('t-unsealed');
-- verify_seals() of every tenant finds it too, though the tenant has no seal
SELECT tenant_id, status, log_id FROM authlog.verify_seals() WHERE tenant_id = 't-unsealed';
-- a tenant with a seal: an event after it, old enough, that no seal lists
INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, occurred_at, recorded_at, metadata, decision, failed_login_attempts)
VALUES ('t-unsealed-2', '00000000-0000-4000-8000-00000000a5e2', 'o1', 'u1', 'login_failed', now() - interval '3 hours', now() - interval '3 hours', '{}', 'failed', 1),
       ('t-unsealed-2', '00000000-0000-4000-8000-00000000a5e3', 'o1', 'u1', 'login_failed', now() - interval '2 minutes', now() - interval '2 minutes', '{}', 'failed', 2);
WITH c AS (
	SELECT ROW('t-unsealed-2', 1, gen_random_uuid(), now() - interval '3 hours', '0/0', '0/0', l.recorded_at,
	           l.recorded_at, 1, ARRAY[l.log_id], authlog.event_digest(l), NULL, ''::bytea,
	           NULL, NULL, NULL, NULL)::authlog.seals AS s
	FROM authlog.auth_logs l WHERE l.log_id = '00000000-0000-4000-8000-00000000a5e2')
INSERT INTO authlog.seals
SELECT (c.s).tenant_id, (c.s).seal_no, (c.s).seal_id, (c.s).sealed_at, (c.s).first_commit_lsn, (c.s).last_commit_lsn,
       (c.s).first_committed_at, (c.s).last_committed_at, (c.s).event_count, (c.s).members, (c.s).member_digests,
       (c.s).previous_digest, authlog.seal_digest(c.s)
FROM c;
INSERT INTO authlog.seal_members VALUES ('t-unsealed-2', '00000000-0000-4000-8000-00000000a5e2', 1);
SELECT tenant_id, seal_no, status, log_id FROM authlog.verify_seals('t-unsealed-2');
-- the skew is a grace period too
SET authlog.max_clock_skew = '1h';
SELECT count(*) FILTER (WHERE status = 'unsealed') AS unsealed FROM authlog.verify_seals('t-unsealed-2');
RESET authlog.max_clock_skew;
