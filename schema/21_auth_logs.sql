-- auth_logs, around its columns --------------------------------------------------
-- What auth_logs is besides its columns (schema/20_tables.sql): its comment,
-- indexes, default partition, row-level security and append-only triggers.
-- In a piece of its own: the 1.0 -> 1.1 update makes auth_logs anew, with
-- 1.0's columns, and takes the rest from here.

COMMENT ON TABLE authlog.auth_logs IS
	'One row per authentication event, append-only: written only by record_login and reset_lockout. Each row carries the lockout state after the event. (1.1) Partitioned by recorded_at: a partition a month (authlog.create_partitions), and auth_logs_default for what no month''s partition holds.';

CREATE INDEX auth_logs_user_time ON authlog.auth_logs (tenant_id, user_id, occurred_at);
CREATE INDEX auth_logs_ip_time ON authlog.auth_logs (tenant_id, ip_address, occurred_at);
CREATE INDEX auth_logs_tenant_time ON authlog.auth_logs (tenant_id, occurred_at);

-- (1.1) What no month's partition holds: the events of a month whose
-- partition does not exist yet (create_partitions moves them into it).
CREATE TABLE authlog.auth_logs_default PARTITION OF authlog.auth_logs DEFAULT;
ALTER TABLE authlog.auth_logs_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.auth_logs_default FORCE ROW LEVEL SECURITY;
COMMENT ON TABLE authlog.auth_logs_default IS
	'(1.1) The events of months that have no partition of auth_logs yet; authlog.create_partitions() moves them into the month''s partition when it makes it.';

ALTER TABLE authlog.auth_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.auth_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_logs_reader ON authlog.auth_logs FOR SELECT
	USING (auth_logs.tenant_id OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id FROM authlog.reader_scope s WHERE s.organisation_id IS NULL)
		   OR (auth_logs.tenant_id, auth_logs.organisation_id) OPERATOR(pg_catalog.=) ANY
			   (SELECT s.tenant_id, s.organisation_id FROM authlog.reader_scope s
				WHERE s.organisation_id IS NOT NULL));

CREATE TRIGGER auth_logs_append_only
	BEFORE UPDATE OR DELETE ON authlog.auth_logs
	FOR EACH ROW EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER auth_logs_no_truncate
	BEFORE TRUNCATE ON authlog.auth_logs
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.forbid_log_rewrite();
