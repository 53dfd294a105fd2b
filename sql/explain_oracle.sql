-- A reader's EXPLAIN (ANALYZE or not) shows nothing that depends on rows it may not read: each probe asks a yes/no question about another tenant or another organisation, and the plan, row counts, estimates and errors read the same for yes and for no.
SET timezone = 'UTC';
CREATE ROLE regress_oracle_finance;	-- reads acme's finance organisation only
CREATE ROLE regress_oracle_acme;	-- reads all of acme
SELECT authlog.grant_reader('regress_oracle_finance', 't-oracle-acme', 'finance');
SELECT authlog.grant_reader('regress_oracle_acme', 't-oracle-acme');

-- the secrets: globex's user42 is locked (until a time the readers must not
-- learn); acme/hr's user7 failed twice from 198.51.100.7 in 2025, then logged
-- in; finance has events of its own, today
SET authlog.max_failed_attempts = 3;
SELECT count(*) FROM (
	SELECT authlog.record_login('t-oracle-globex', 'o1', 'user42', false, '203.0.113.42', 'globex-agent', 'web')
	FROM generate_series(1, 3)) globex;
SELECT count(*) FROM (
	SELECT authlog.record_login('t-oracle-acme', 'hr', 'user7', n = 3, '198.51.100.7', 'hr-agent', 'web',
	                            occurred_at => '2025-06-01 12:00+00'::timestamptz + n * interval '1 minute')
	FROM generate_series(1, 3) n) hr;
SELECT count(*) FROM (
	SELECT authlog.record_login('t-oracle-acme', 'finance', 'fin' || n, n % 2 = 0, '192.0.2.1', 'finance-agent', 'web')
	FROM generate_series(1, 20) n) finance;
RESET authlog.max_failed_attempts;
-- a seal of globex's (seals are built by the sealer in another database; one by hand will do)
INSERT INTO authlog.seals
SELECT 't-oracle-globex', 1, gen_random_uuid(), now(), '0/0', '0/0', now(), now(),
       count(*), array_agg(log_id), string_agg(authlog.event_digest(l), ''::bytea), NULL, sha256('seal')
FROM authlog.auth_logs l WHERE tenant_id = 't-oracle-globex';
INSERT INTO authlog.seal_members SELECT 't-oracle-globex', log_id, 1 FROM authlog.auth_logs WHERE tenant_id = 't-oracle-globex';
ANALYZE authlog.auth_logs, authlog.account_lockouts, authlog.seals, authlog.seal_members;

-- What EXPLAIN shows the reader, with its own numbers (not times, which vary)
CREATE FUNCTION public.explained(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS ON, TIMING OFF, SUMMARY OFF) ' || statement LOOP
		plan := plan || regexp_replace(line, 'Memory: \d+kB', 'Memory: NkB', 'g') || E'\n';
	END LOOP;
	RETURN plan;
EXCEPTION WHEN others THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END
$$;

-- each probe: a question, the statement if the answer is yes, and if it is no
CREATE TABLE oracle_probes (reader text, question text, yes text, no text);
INSERT INTO oracle_probes VALUES
	('finance', 'auth_logs: does globex have a user42?',
	 $$SELECT 1 FROM authlog.auth_logs WHERE tenant_id = 't-oracle-globex' AND user_id = 'user42'$$,
	 $$SELECT 1 FROM authlog.auth_logs WHERE tenant_id = 't-oracle-globex' AND user_id = 'user43'$$),
	('finance', 'account_lockouts: is globex''s user42 locked beyond 2000?',
	 $$SELECT 1 FROM authlog.account_lockouts WHERE tenant_id = 't-oracle-globex' AND user_id = 'user42' AND account_locked_until > '2000-01-01'$$,
	 $$SELECT 1 FROM authlog.account_lockouts WHERE tenant_id = 't-oracle-globex' AND user_id = 'user42' AND account_locked_until > '3000-01-01'$$),
	('finance', 'auth_logs: did an hr user fail from 198.51.100.7?',
	 $$SELECT 1 FROM authlog.auth_logs WHERE tenant_id = 't-oracle-acme' AND ip_address = '198.51.100.7'$$,
	 $$SELECT 1 FROM authlog.auth_logs WHERE tenant_id = 't-oracle-acme' AND ip_address = '198.51.100.8'$$),
	('finance', 'account_lockouts: does hr have a user7?',
	 $$SELECT 1 FROM authlog.account_lockouts WHERE tenant_id = 't-oracle-acme' AND user_id = 'user7' AND failed_login_attempts >= 2$$,
	 $$SELECT 1 FROM authlog.account_lockouts WHERE tenant_id = 't-oracle-acme' AND user_id = 'user7' AND failed_login_attempts >= 3$$),
	('finance', 'auth_logs: how does globex''s user agent start?',
	 $$SELECT 1 FROM authlog.auth_logs WHERE tenant_id = 't-oracle-globex' AND user_agent >= 'g' AND user_agent < 'h'$$,
	 $$SELECT 1 FROM authlog.auth_logs WHERE tenant_id = 't-oracle-globex' AND user_agent >= 'h' AND user_agent < 'i'$$),
	('acme', 'seals: has globex a seal?',
	 $$SELECT 1 FROM authlog.seals WHERE tenant_id = 't-oracle-globex' AND seal_no >= 1$$,
	 $$SELECT 1 FROM authlog.seals WHERE tenant_id = 't-oracle-globex' AND seal_no >= 2$$),
	('acme', 'seal_members: has globex sealed events?',
	 $$SELECT 1 FROM authlog.seal_members WHERE tenant_id = 't-oracle-globex' AND seal_no = 1$$,
	 $$SELECT 1 FROM authlog.seal_members WHERE tenant_id = 't-oracle-globex' AND seal_no = 2$$),
	('finance', 'incident_timeline: does globex have a user42?',
	 $$SELECT * FROM authlog.incident_timeline('t-oracle-globex', '-infinity', 'infinity', 'user42')$$,
	 $$SELECT * FROM authlog.incident_timeline('t-oracle-globex', '-infinity', 'infinity', 'user43')$$),
	('finance', 'incident_timeline: did hr''s user7 fail?',
	 $$SELECT * FROM authlog.incident_timeline('t-oracle-acme', '-infinity', 'infinity', 'user7')$$,
	 $$SELECT * FROM authlog.incident_timeline('t-oracle-acme', '-infinity', 'infinity', 'user8')$$),
	('finance', 'incident_timeline: did hr see 198.51.100.7?',
	 $$SELECT * FROM authlog.incident_timeline('t-oracle-acme', '-infinity', 'infinity', ip_address => '198.51.100.7')$$,
	 $$SELECT * FROM authlog.incident_timeline('t-oracle-acme', '-infinity', 'infinity', ip_address => '198.51.100.8')$$),
	('finance', 'lockout_trace: was globex''s user42 locked?',
	 $$SELECT * FROM authlog.lockout_trace('t-oracle-globex', 'user42', 'infinity')$$,
	 $$SELECT * FROM authlog.lockout_trace('t-oracle-globex', 'user43', 'infinity')$$),
	('finance', 'targeted_accounts: was globex attacked this year?',
	 $$SELECT * FROM authlog.targeted_accounts('t-oracle-globex', '2000-01-01', 'infinity')$$,
	 $$SELECT * FROM authlog.targeted_accounts('t-oracle-globex', '3000-01-01', 'infinity')$$),
	('finance', 'attacking_ips: did an address fail three times at globex?',
	 $$SELECT * FROM authlog.attacking_ips('t-oracle-globex', '-infinity', 'infinity', 3)$$,
	 $$SELECT * FROM authlog.attacking_ips('t-oracle-globex', '-infinity', 'infinity', 4)$$),
	('finance', 'success_after_failures: did an hr user log in after two failures?',
	 $$SELECT * FROM authlog.success_after_failures('t-oracle-acme', '-infinity', 'infinity', 2)$$,
	 $$SELECT * FROM authlog.success_after_failures('t-oracle-acme', '-infinity', 'infinity', 3)$$),
	('finance', 'compliance_report: had globex events?',
	 $$SELECT * FROM authlog.compliance_report('t-oracle-globex', '2000-01-01', 'infinity')$$,
	 $$SELECT * FROM authlog.compliance_report('t-oracle-globex', '3000-01-01', 'infinity')$$),
	('finance', 'export_events: had acme events in 2025 (all of them hr''s)?',
	 $$SELECT * FROM authlog.export_events('t-oracle-acme', '2025-01-01', '2026-01-01')$$,
	 $$SELECT * FROM authlog.export_events('t-oracle-acme', '2024-01-01', '2025-01-01')$$),
	('acme', 'verify_seals: is globex sealed?',
	 $$SELECT * FROM authlog.verify_seals('t-oracle-globex')$$,
	 $$SELECT * FROM authlog.verify_seals('t-oracle-initech')$$);
GRANT SELECT ON oracle_probes TO PUBLIC;

-- each is a real question: a superuser, who may read every row, gets two answers
SELECT question, explained(yes) <> explained(no) AS answers_differ
FROM oracle_probes ORDER BY question;

SET ROLE regress_oracle_finance;
SELECT question, explained(yes) = explained(no) AS same_answer
FROM oracle_probes WHERE reader = 'finance' ORDER BY question;
RESET ROLE;
SET ROLE regress_oracle_acme;
SELECT question, explained(yes) = explained(no) AS same_answer
FROM oracle_probes WHERE reader = 'acme' ORDER BY question;
RESET ROLE;

-- what the reader's EXPLAIN shows of an investigation function: the call, not the tables behind it
SET ROLE regress_oracle_finance;
SELECT plan ~ '^Function Scan on incident_timeline' AS function_scan, plan !~ 'auth_logs|reader_grants' AS no_table_shown,
       (SELECT count(*) FROM regexp_matches(plan, E'\n', 'g')) AS lines
FROM explained($$SELECT * FROM authlog.incident_timeline('t-oracle-globex', '-infinity', 'infinity', 'user42')$$) plan;
-- and what it answers is unchanged: its own organisation's events, nothing of hr's
SELECT organisation_id, count(*) FROM authlog.incident_timeline('t-oracle-acme', '-infinity', 'infinity') GROUP BY 1;
RESET ROLE;
