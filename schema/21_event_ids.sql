-- An event's id, once; a retry is the same call again -------------------------
-- (doc/security.md, "Retries")  auth_logs is partitioned by recorded_at,
-- and a unique key of it must hold recorded_at: so every event's
-- (tenant_id, log_id) is kept here, unpartitioned, inserted first in the
-- statement that inserts the event; a second insert of the same id is a
-- retry, whichever month the first one's partition is (one probe).  For a
-- caller's log_id (an attempt's, a help-desk reset's) it keeps the SHA-256
-- of every argument of the call that recorded it (src/request_fingerprint.c);
-- the same log_id with any other argument is refused with SQLSTATE LA001
-- and writes nothing.  occurred_at defaults to NULL, "not given" (the
-- transaction time is recorded, and a retry need not repeat it); a given
-- occurred_at is part of the call.
--
-- Commit order: recorded_at is the call's time, not the commit's (a
-- transaction that began earlier can commit later), so each id also carries
-- the id of the transaction that inserted it; poll_events pages by
-- (xact_id, log_id) and returns only events of transactions older than its
-- snapshot's xmin, all of which have ended, so a cursor never passes an
-- event that has yet to commit (doc/reference.md).  Kept here rather than
-- in a table of its own: one row less per event on the login path, and a
-- position goes when retention removes its event.

CREATE TABLE authlog.event_ids (
	tenant_id text NOT NULL,
	log_id uuid NOT NULL,
	recorded_at timestamptz NOT NULL,
	fingerprint bytea,
	xact_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	PRIMARY KEY (tenant_id, log_id)
);
-- the order poll_events reads in
CREATE INDEX event_ids_position ON authlog.event_ids (tenant_id, xact_id, log_id);
COMMENT ON TABLE authlog.event_ids IS
	'(1.1) Every event''s (tenant_id, log_id), once, with its recorded_at (the partition of auth_logs that holds it), the transaction that inserted it (the order poll_events pages by) and, for a caller''s log_id, the SHA-256 of every argument of the call that recorded it: what a retry must match (NULL for events authlog derived and those recorded before 1.1). Written with each event; removed with it by retention.';
COMMENT ON COLUMN authlog.event_ids.xact_id IS
	'(1.1) The transaction that inserted the event: poll_events'' order. Events recorded before 1.1 share the update''s transaction.';
ALTER TABLE authlog.event_ids ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.event_ids FORCE ROW LEVEL SECURITY;
CREATE TRIGGER event_ids_append_only
	BEFORE UPDATE OR DELETE ON authlog.event_ids
	FOR EACH ROW EXECUTE FUNCTION authlog.forbid_log_rewrite();
CREATE TRIGGER event_ids_no_truncate
	BEFORE TRUNCATE ON authlog.event_ids
	FOR EACH STATEMENT EXECUTE FUNCTION authlog.forbid_log_rewrite();
