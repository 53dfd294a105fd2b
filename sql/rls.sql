-- A reader sees only the tenants and organisations granted to its role, whatever it SETs, through the reader functions only (1.1: no SELECT on the tables); a tenant it may not read yields no rows.
CREATE ROLE regress_authlog_reader_t1;			-- all of tenant t-rls-1
CREATE ROLE regress_authlog_reader_t1_o2;		-- tenant t-rls-1, organisation o2 only
CREATE ROLE regress_authlog_reader_none;		-- no grant
CREATE ROLE regress_authlog_analysts;			-- a group role holding a grant
CREATE ROLE regress_authlog_member IN ROLE regress_authlog_analysts;

SELECT authlog.grant_reader('regress_authlog_reader_t1', 't-rls-1');
SELECT authlog.grant_reader('regress_authlog_reader_t1_o2', 't-rls-1', 'o2');
SELECT authlog.grant_reader('regress_authlog_analysts', 't-rls-2');
-- granting twice is harmless
SELECT authlog.grant_reader('regress_authlog_reader_t1', 't-rls-1');
GRANT USAGE ON SCHEMA authlog TO regress_authlog_reader_none;

SELECT decision FROM authlog.record_login('t-rls-1', 'o1', 'ann', false, '192.0.2.1', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-rls-1', 'o2', 'ben', false, '192.0.2.2', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-rls-2', 'o1', 'cat', false, '192.0.2.3', 'ua', 'web');

SET ROLE regress_authlog_reader_t1;
SELECT organisation_id, user_id FROM authlog.incident_timeline('t-rls-1', '-infinity', 'infinity') ORDER BY 1, 2;
SELECT count(*) AS other_tenant_events FROM authlog.incident_timeline('t-rls-2', '-infinity', 'infinity');
-- the tables themselves are closed to readers
SELECT try($$SELECT count(*) FROM authlog.auth_logs$$);
SELECT try($$SELECT count(*) FROM authlog.account_lockouts$$);
SELECT try($$SELECT count(*) FROM authlog.seals$$);
SELECT try($$SELECT count(*) FROM authlog.seal_members$$);
SELECT * FROM authlog.reader_scope;
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-rls-1', 'ben');
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-rls-1', 'never-seen');
SELECT count(*) AS other_tenant_rows FROM authlog.lockout_status('t-rls-2', 'cat');
RESET ROLE;

SET ROLE regress_authlog_reader_t1_o2;
SELECT organisation_id, user_id FROM authlog.incident_timeline('t-rls-1', '-infinity', 'infinity') ORDER BY 1, 2;
SELECT user_id, failures FROM authlog.targeted_accounts('t-rls-1', '-infinity', 'infinity') ORDER BY 1;
-- another organisation's account reads as an account never seen (sql/lockout_status_scope.sql)
SELECT failed_login_attempts, account_locked_until, locked FROM authlog.lockout_status('t-rls-1', 'ann');
SELECT failed_login_attempts FROM authlog.lockout_status('t-rls-1', 'ben');
-- no setting widens the scope: the functions do not read row_security
SET row_security = off;
SELECT organisation_id, count(*) FROM authlog.incident_timeline('t-rls-1', '-infinity', 'infinity') GROUP BY 1;
RESET row_security;
SELECT try($$SET authlog.max_failed_attempts = 100$$);
SELECT try($$SELECT set_config('authlog.tenant_id', 't-rls-2', false)$$);
SELECT count(*) FROM authlog.incident_timeline('t-rls-2', '-infinity', 'infinity');
-- nor can it borrow another role's proof: the caller argument is checked
SELECT try($$SELECT count(*) FROM authlog.incident_timeline('t-rls-2', '-infinity', 'infinity', caller => '\x00')$$);
SELECT try($$SELECT count(*) FROM authlog.incident_timeline('t-rls-2', '-infinity', 'infinity', caller => NULL)$$);
-- and a proof lives as long as its transaction
SELECT authlog.caller_proof() AS earlier_proof \gset
SELECT try(format($$SELECT count(*) FROM authlog.incident_timeline('t-rls-1', '-infinity', 'infinity', caller => %L)$$, :'earlier_proof'));
-- nor can it see or touch the grants themselves
SELECT try($$SELECT * FROM authlog.reader_grants$$);
SELECT try($$INSERT INTO authlog.reader_grants VALUES ('regress_authlog_reader_t1_o2', 't-rls-2', NULL)$$);
SELECT try($$SELECT authlog.grant_reader('regress_authlog_reader_t1_o2', 't-rls-2')$$);
RESET ROLE;

-- a member of a role with a grant reads what the role reads
SET ROLE regress_authlog_member;
SELECT user_id FROM authlog.incident_timeline('t-rls-2', '-infinity', 'infinity') ORDER BY 1;
RESET ROLE;

-- a role without a grant sees nothing and cannot select at all
SET ROLE regress_authlog_reader_none;
SELECT try($$SELECT count(*) FROM authlog.auth_logs$$);
SELECT try($$SELECT count(*) FROM authlog.incident_timeline('t-rls-1', '-infinity', 'infinity')$$);
SELECT count(*) FROM authlog.lockout_status('t-rls-1', 'ann');
RESET ROLE;

-- revoking the last grant takes the privileges with it
SELECT authlog.revoke_reader('regress_authlog_reader_t1_o2', 't-rls-1', 'o2');
SELECT has_table_privilege('regress_authlog_reader_t1_o2', 'authlog.auth_logs', 'SELECT') AS can_select,
       has_schema_privilege('regress_authlog_reader_t1_o2', 'authlog', 'USAGE') AS has_usage;
SELECT authlog.revoke_reader('regress_authlog_reader_t1');
SELECT count(*) AS grants_left FROM authlog.reader_grants WHERE role = 'regress_authlog_reader_t1'::regrole;
