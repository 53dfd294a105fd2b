-- A tenant chooses how user ids name accounts for lockout: exact (the default), casefold (Unicode lower case, surrounding white space trimmed) or nfkc_casefold (NFKC first); spellings the rule makes one are one account with one threshold, every event keeps the spelling as sent, and the investigation functions group by the account.
SET authlog.max_failed_attempts = 3;
SELECT authlog.set_user_id_matching('t-fold', 'casefold');
SELECT authlog.set_user_id_matching('t-nfkc', 'nfkc_casefold');
SELECT try($$SELECT authlog.set_user_id_matching('t-fold', 'soundex')$$);

-- exact (the default): Dave and dave are two accounts, each with its own threshold
SELECT user_id, decision, failed_login_attempts
FROM (VALUES (1, 'Dave'), (2, 'dave'), (3, 'DAVE')) v(n, user_id),
     LATERAL authlog.record_login('t-exact', 'o1', v.user_id, false, '192.0.2.1', 'ua', 'web') d
ORDER BY n;

-- casefold: Dave, dave and ' DAVE ' are one account; the third failure locks it
SELECT v.user_id, d.decision, d.failed_login_attempts
FROM (VALUES (1, 'Dave'), (2, 'dave'), (3, ' DAVE ')) v(n, user_id),
     LATERAL authlog.record_login('t-fold', 'o1', v.user_id, false, '192.0.2.1', 'ua', 'web') d
ORDER BY n;
SELECT user_id, failed_login_attempts, account_locked_until IS NOT NULL AS locked
FROM authlog.account_lockouts WHERE tenant_id = 't-fold';
-- Unicode lower case, not just ASCII; accents are not folded (another person)
SELECT decision, failed_login_attempts FROM authlog.record_login('t-fold', 'o1', 'ÉMILE', false, NULL, NULL, 'web');
SELECT decision, failed_login_attempts FROM authlog.record_login('t-fold', 'o1', 'émile', false, NULL, NULL, 'web');
SELECT decision, failed_login_attempts FROM authlog.record_login('t-fold', 'o1', 'emile', false, NULL, NULL, 'web');
-- each event keeps the spelling it was sent with
SELECT user_id, metadata -> 'authlog' ->> 'user_id_as_sent' AS as_sent, event_type
FROM authlog.auth_logs WHERE tenant_id = 't-fold' AND user_id = 'dave' ORDER BY recorded_at, event_type;
-- the account answers to any of its spellings
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-fold', 'DaVe');
SELECT count(*) AS events FROM authlog.incident_timeline('t-fold', '-infinity', 'infinity', 'DAVE');
SELECT user_id, failures, lockouts FROM authlog.targeted_accounts('t-fold', '-infinity', 'infinity') ORDER BY user_id;
SELECT authlog.reset_lockout('t-fold', 'o1', 'Dave ', 'helpdesk:ann') IS NOT NULL AS reset;
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-fold', 'dave');

-- nfkc_casefold: the full-width ｄａｖｅ is dave too
SELECT v.user_id, d.decision, d.failed_login_attempts
FROM (VALUES (1, 'dave'), (2, 'ｄａｖｅ'), (3, 'ＤＡＶＥ')) v(n, user_id),
     LATERAL authlog.record_login('t-nfkc', 'o1', v.user_id, false, '192.0.2.1', 'ua', 'web') d
ORDER BY n;
SELECT user_id, failed_login_attempts FROM authlog.account_lockouts WHERE tenant_id = 't-nfkc';

-- a spelling that folds to nothing is refused
SELECT try($$SELECT authlog.record_login('t-fold', 'o1', '   ', false, NULL, NULL, 'web')$$);
RESET authlog.max_failed_attempts;
