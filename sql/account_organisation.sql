-- An account belongs to the organisation it was first recorded in: a call naming another organisation is refused (SQLSTATE LA002) and writes nothing; moving an account is an explicit act, authlog.move_account, recorded as evidence both organisations' readers see.
CREATE ROLE regress_org_finance;
CREATE ROLE regress_org_hr;
SELECT authlog.grant_reader('regress_org_finance', 't-org', 'finance');
SELECT authlog.grant_reader('regress_org_hr', 't-org', 'hr');
SET authlog.max_failed_attempts = 3;

-- a finance account with two failures, and one that only ever logged in
SELECT decision FROM authlog.record_login('t-org', 'finance', 'fay', false, '192.0.2.1', 'ua', 'web', log_id => '00000000-0000-4000-8000-0000000c0001');
SELECT decision FROM authlog.record_login('t-org', 'finance', 'fay', false, '192.0.2.1', 'ua', 'web', log_id => '00000000-0000-4000-8000-0000000c0002');
SELECT decision FROM authlog.record_login('t-org', 'finance', 'gil', true, '192.0.2.2', 'ua', 'web');
CREATE TEMP TABLE org_before AS
SELECT (SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 't-org') AS events,
       (SELECT string_agg(user_id || ':' || organisation_id || ':' || failed_login_attempts, ' ' ORDER BY user_id)
        FROM authlog.account_lockouts WHERE tenant_id = 't-org') AS accounts;

-- recording either under hr is refused, for a failure, a success and a reset
SELECT try($$SELECT authlog.record_login('t-org', 'hr', 'fay', false, '192.0.2.1', 'ua', 'web')$$);
SELECT split_part(try($$SELECT authlog.record_login('t-org', 'hr', 'fay', true, '192.0.2.1', 'ua', 'web')$$), ':', 1) AS success_under_hr;
SELECT split_part(try($$SELECT authlog.record_login('t-org', 'hr', 'gil', false, '192.0.2.2', 'ua', 'web')$$), ':', 1) AS never_failed_under_hr;
SELECT split_part(try($$SELECT authlog.reset_lockout('t-org', 'hr', 'fay', 'helpdesk:ann')$$), ':', 1) AS reset_under_hr;
SELECT b.events = (SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 't-org') AS nothing_written,
       b.accounts = (SELECT string_agg(user_id || ':' || organisation_id || ':' || failed_login_attempts, ' ' ORDER BY user_id)
                     FROM authlog.account_lockouts WHERE tenant_id = 't-org') AS accounts_unchanged
FROM org_before b;
-- finance still sees fay's failures, and its next failure locks her
SET ROLE regress_org_finance;
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-org', 'fay');
RESET ROLE;
SELECT decision FROM authlog.record_login('t-org', 'finance', 'fay', false, '192.0.2.1', 'ua', 'web');

-- the move: the account (and its lock) goes to hr, and both sides see that it did
SELECT authlog.move_account('t-org', 'fay', 'hr', 'helpdesk:ann', 'transferred to HR, ticket 77') IS NOT NULL AS moved;
SELECT organisation_id, failed_login_attempts, account_locked_until IS NOT NULL AS still_locked
FROM authlog.account_lockouts WHERE tenant_id = 't-org' AND user_id = 'fay';
SET ROLE regress_org_finance;
SELECT event_type, organisation_id, actor, metadata -> 'authlog' ->> 'to_organisation' AS moved_to
FROM authlog.incident_timeline('t-org', '-infinity', 'infinity', 'fay') WHERE event_type = 'account_moved';
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-org', 'fay');
RESET ROLE;
SET ROLE regress_org_hr;
SELECT event_type, organisation_id, actor, metadata -> 'authlog' ->> 'from_organisation' AS moved_from
FROM authlog.incident_timeline('t-org', '-infinity', 'infinity', 'fay') WHERE event_type = 'account_moved';
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-org', 'fay');
RESET ROLE;
-- now hr's calls are accepted and finance's refused
SELECT decision FROM authlog.record_login('t-org', 'hr', 'fay', true, '192.0.2.1', 'ua', 'web');
SELECT split_part(try($$SELECT authlog.record_login('t-org', 'finance', 'fay', true, '192.0.2.1', 'ua', 'web')$$), ':', 1) AS finance_after_move;

-- a move needs an actor and another organisation; the service role may not move
SELECT split_part(try($$SELECT authlog.move_account('t-org', 'fay', 'hr', 'helpdesk:ann', 'again')$$), ':', 1) AS same_organisation;
SELECT split_part(try($$SELECT authlog.move_account('t-org', 'fay', 'finance', NULL, 'x')$$), ':', 1) AS no_actor;
SELECT split_part(try($$SELECT authlog.move_account('t-org', 'nobody', 'finance', 'helpdesk:ann', 'x')$$), ':', 1) AS unknown_account;
CREATE ROLE regress_org_service;
SELECT authlog.grant_service('regress_org_service');
SET ROLE regress_org_service;
SELECT split_part(try($$SELECT authlog.move_account('t-org', 'fay', 'finance', 'helpdesk:ann', 'x')$$), ':', 1) AS service_moves;
RESET ROLE;
RESET authlog.max_failed_attempts;
DROP OWNED BY regress_org_finance, regress_org_hr, regress_org_service;
DELETE FROM authlog.reader_grants WHERE tenant_id = 't-org';
DROP ROLE regress_org_finance, regress_org_hr, regress_org_service;
