-- A known account's row is locked and updated through the table AM (account_row.c) exactly as the statements would: its state after each call, the last failure's time and IP kept by a success, every version in the primary key (amcheck) whether the update was HOT or not; and a table the statements must handle (a trigger on it, a column it does not know, a check constraint) is left to them: trigger fired, column kept, constraint enforced.
CREATE EXTENSION IF NOT EXISTS amcheck;
SET authlog.max_failed_attempts = 3;

-- two failures, then a success: the row as lock_account_sql and update_account_sql leave it
SELECT decision, failed_login_attempts FROM authlog.record_login('t-row', 'o1', 'ann', false, '192.0.2.1', 'ua', 'web');
SELECT decision, failed_login_attempts FROM authlog.record_login('t-row', 'o1', 'ann', false, '192.0.2.2', 'ua', 'web');
SELECT failed_login_attempts, first_failed_at IS NOT NULL AS series_started, last_failed_at = updated_at AS failed_last,
       host(last_failed_ip) AS last_failed_ip, account_locked_until IS NULL AS unlocked, lockout_count
FROM authlog.account_lockouts WHERE tenant_id = 't-row' AND user_id = 'ann';
SELECT decision, failed_login_attempts FROM authlog.record_login('t-row', 'o1', 'ann', true, '192.0.2.3', 'ua', 'web');
SELECT failed_login_attempts, first_failed_at IS NULL AS series_cleared, last_failed_at < updated_at AS failure_kept,
       host(last_failed_ip) AS last_failed_ip
FROM authlog.account_lockouts WHERE tenant_id = 't-row' AND user_id = 'ann';
-- the third failure locks: the lock's time and count are the row's
SELECT decision FROM authlog.record_login('t-row', 'o1', 'ann', false, '192.0.2.4', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-row', 'o1', 'ann', false, '192.0.2.4', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-row', 'o1', 'ann', false, '192.0.2.4', 'ua', 'web');
SELECT failed_login_attempts, account_locked_until > updated_at AS locked, lockout_count
FROM authlog.account_lockouts WHERE tenant_id = 't-row' AND user_id = 'ann';

-- 400 accounts fill their pages; a second failure of each cannot always stay on its page
SELECT count(authlog.record_login('t-row', 'o1', 'u' || n, false, '192.0.2.5', 'ua', 'web')) FROM generate_series(1, 400) n;
SELECT count(authlog.record_login('t-row', 'o1', 'u' || n, false, '192.0.2.6', 'ua', 'web')) FROM generate_series(1, 400) n;
SELECT n_tup_upd > n_tup_hot_upd AS some_not_hot FROM pg_stat_xact_user_tables WHERE relid = 'authlog.account_lockouts'::regclass;
-- every version the index should point to, it does; each account found by its key, once
SELECT bt_index_check('authlog.account_lockouts_pkey', true);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS accounts, min(failed_login_attempts) AS least, max(failed_login_attempts) AS most
FROM generate_series(1, 400) n
JOIN authlog.account_lockouts a ON a.tenant_id = 't-row' AND a.user_id = 'u' || n;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- a trigger on the table: the statements update it, and the trigger sees each update
CREATE TABLE account_row_seen (user_id text, failed_login_attempts int);
CREATE FUNCTION account_row_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.account_row_seen VALUES (NEW.user_id, NEW.failed_login_attempts);
	RETURN NEW;
END $$;
CREATE TRIGGER account_row_note AFTER UPDATE ON authlog.account_lockouts
	FOR EACH ROW EXECUTE FUNCTION account_row_note();
SELECT decision, failed_login_attempts FROM authlog.record_login('t-row', 'o1', 'u1', false, '192.0.2.7', 'ua', 'web');
SELECT authlog.reset_lockout('t-row', 'o1', 'u2', 'helpdesk:ann') IS NOT NULL AS reset;
SELECT * FROM account_row_seen ORDER BY user_id;
DROP TRIGGER account_row_note ON authlog.account_lockouts;
DROP TABLE account_row_seen;
DROP FUNCTION account_row_note();
SELECT failed_login_attempts, host(last_failed_ip) AS last_failed_ip
FROM authlog.account_lockouts WHERE tenant_id = 't-row' AND user_id IN ('u1', 'u2') ORDER BY user_id;
-- a column the table AM path does not know is the statements' to keep; once dropped, the path is back
ALTER TABLE authlog.account_lockouts ADD COLUMN site_note text;
UPDATE authlog.account_lockouts SET site_note = 'kept' WHERE tenant_id = 't-row' AND user_id = 'u3';
SELECT decision, failed_login_attempts FROM authlog.record_login('t-row', 'o1', 'u3', false, '192.0.2.8', 'ua', 'web');
SELECT failed_login_attempts, site_note FROM authlog.account_lockouts WHERE tenant_id = 't-row' AND user_id = 'u3';
ALTER TABLE authlog.account_lockouts DROP COLUMN site_note;
SELECT decision, failed_login_attempts FROM authlog.record_login('t-row', 'o1', 'u4', false, '192.0.2.9', 'ua', 'web');
SELECT failed_login_attempts, host(last_failed_ip) AS last_failed_ip, account_locked_until IS NOT NULL AS locked
FROM authlog.account_lockouts WHERE tenant_id = 't-row' AND user_id = 'u4';
-- a check constraint is the statements' to enforce: a failure that would break it is refused, nothing written
ALTER TABLE authlog.account_lockouts ADD CONSTRAINT fewer_than_three CHECK (failed_login_attempts < 3) NOT VALID;
SELECT count(*) AS events_before FROM authlog.auth_logs WHERE tenant_id = 't-row' AND user_id = 'u5' \gset
SELECT split_part(try($$SELECT authlog.record_login('t-row', 'o1', 'u5', false, '192.0.2.10', 'ua', 'web')$$), ':', 1) AS refused;
SELECT count(*) = :events_before AS nothing_written FROM authlog.auth_logs WHERE tenant_id = 't-row' AND user_id = 'u5';
ALTER TABLE authlog.account_lockouts DROP CONSTRAINT fewer_than_three;
SELECT bt_index_check('authlog.account_lockouts_pkey', true);

-- in a read-only transaction the statement refuses, as it always did: 25006, before anything is locked
BEGIN READ ONLY;
SELECT try($$SELECT authlog.record_login('t-row', 'o1', 'u6', false, '192.0.2.11', 'ua', 'web')$$) AS refused;
ROLLBACK;
DROP EXTENSION amcheck;
