-- The organisation of every account, once ------------------------------------
-- (doc/reference.md, "account_organisations")  An account belongs to the
-- organisation it was first recorded in (SQLSTATE LA002 refuses a call that
-- names another).  An account with a row in account_lockouts carries its
-- organisation there; one that has only ever logged in successfully has no
-- row, and its organisation is kept here, written by the call that records
-- its first event: one probe of this key finds it, where a search of the
-- events would probe every month's partition of auth_logs.  Bookkeeping
-- like event_ids: not evidence, not mirrored, kept when retention retires
-- the account's events (the account still belongs where it was recorded).

CREATE TABLE authlog.account_organisations (
	tenant_id text NOT NULL,
	user_id text NOT NULL,
	organisation_id text NOT NULL,
	PRIMARY KEY (tenant_id, user_id)
);
COMMENT ON TABLE authlog.account_organisations IS
	'(1.1) The organisation each account (the tenant''s user id, as its matching rule keys it) was first recorded in; read by the write functions for an account without a row in account_lockouts (whose row says where it belongs now). Written with an account''s first event, dumped, read by nobody but the write functions.';
ALTER TABLE authlog.account_organisations ENABLE ROW LEVEL SECURITY;
ALTER TABLE authlog.account_organisations FORCE ROW LEVEL SECURITY;
