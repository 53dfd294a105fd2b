-- lockout_status tells a reader nothing about accounts outside its organisations: another organisation's account and an account never seen both read 0, NULL, false; a tenant it may not read at all yields no rows, whatever its accounts.
CREATE ROLE regress_status_finance;
SELECT authlog.grant_reader('regress_status_finance', 't-status', 'finance');
SET authlog.max_failed_attempts = 2;
SELECT decision FROM authlog.record_login('t-status', 'hr', 'hr-locked', false, NULL, NULL, 'web', log_id => '00000000-0000-4000-8000-00000005a001');
SELECT decision FROM authlog.record_login('t-status', 'hr', 'hr-locked', false, NULL, NULL, 'web', log_id => '00000000-0000-4000-8000-00000005a002');
SELECT decision FROM authlog.record_login('t-status', 'finance', 'fin-failed', false, NULL, NULL, 'web');
SELECT decision FROM authlog.record_login('t-status-other', 'finance', 'other-locked', false, NULL, NULL, 'web', log_id => '00000000-0000-4000-8000-00000005a003');
SELECT decision FROM authlog.record_login('t-status-other', 'finance', 'other-locked', false, NULL, NULL, 'web', log_id => '00000000-0000-4000-8000-00000005a004');
RESET authlog.max_failed_attempts;

SET ROLE regress_status_finance;
-- its own account: the real state
SELECT 'fin-failed' AS account, * FROM authlog.lockout_status('t-status', 'fin-failed');
-- a locked account of hr and an account nobody has seen: the same answer
SELECT 'hr-locked' AS account, * FROM authlog.lockout_status('t-status', 'hr-locked');
SELECT 'never-seen' AS account, * FROM authlog.lockout_status('t-status', 'never-seen');
-- a tenant it may not read: no rows, for a locked account as for a missing one
SELECT count(*) AS rows_of_other_tenant FROM authlog.lockout_status('t-status-other', 'other-locked');
SELECT count(*) AS rows_of_other_tenant FROM authlog.lockout_status('t-status-other', 'never-seen');
RESET ROLE;
DROP OWNED BY regress_status_finance;
DELETE FROM authlog.reader_grants WHERE role::text = 'regress_status_finance';
DROP ROLE regress_status_finance;
