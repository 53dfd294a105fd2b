-- The demo's campaign against tenant "acme", through record_login exactly as
-- the auth service calls it: benign traffic, a brute force, a credential
-- stuffing and a compromise, then a help-desk unlock.  Run by test/demo.sql
-- and by the monitoring end-to-end test (test/monitoring_e2e.sh).  With
-- psql -v pace=S each attempt is followed by an S-second pause (make demo:
-- the campaign lasts about 30 s, so Prometheus sees it unfold); unset, it
-- runs at once.
\if :{?pace}
\else
\set pace 0
\endif
SET authlog_demo.pace = :'pace';
\o /dev/null
SELECT authlog.set_lockout_policy('acme', 5, '15 minutes', '15 minutes', 2, '4 hours');
CREATE ROLE acme_auth_service;
SELECT authlog.grant_service('acme_auth_service');
\o

SET ROLE acme_auth_service;
-- benign traffic, both tenants and every organisation, web and mobile
SELECT count(*) FROM (
	SELECT authlog.record_login(t, o, CASE o WHEN 'hq' THEN 'employee' ELSE 'accountant' END || n, true, ('10.0.0.' || n)::inet,
	                            'Mozilla/5.0', CASE WHEN n % 2 = 0 THEN 'web' ELSE 'mobile' END::authlog.auth_path)
	FROM generate_series(1, 20) n, unnest(ARRAY['acme', 'globex']) t, unnest(ARRAY['hq', 'finance']) o) benign \gset
-- (paced: a few scrapes see the quiet before the campaign)
SELECT pg_sleep(10 * current_setting('authlog_demo.pace')::float8) \gset
-- brute force: one IP hammers the CFO's account until it locks, and keeps
-- going, then the treasurer's, which stays locked until the help desk
-- unlocks it through the API (the demo's curl lines); one transaction per
-- attempt, as the auth service makes them
DO $$
DECLARE
	target record;
BEGIN
	FOR target IN SELECT * FROM (VALUES ('cfo', 9), ('treasurer', 5)) v(user_id, attempts) LOOP
		FOR n IN 1..target.attempts LOOP
			PERFORM authlog.record_login('acme', 'finance', target.user_id, false, '198.51.100.66',
			                             'python-requests/2.31', 'web', jsonb_build_object('attempt', n));
			COMMIT;
			PERFORM pg_sleep(current_setting('authlog_demo.pace')::float8);
		END LOOP;
	END LOOP;
END
$$;
-- credential stuffing: a small botnet tries leaked passwords on many
-- accounts, a few at a time
DO $$
BEGIN
	FOR n IN 1..36 LOOP
		PERFORM authlog.record_login('acme', 'hq', 'employee' || (n % 12 + 1), false,
		                             ('203.0.113.' || (n % 4 + 10))::inet, 'curl/8.4', 'api',
		                             jsonb_build_object('x.forwarded-for', '192.0.2.' || n));
		COMMIT;
		IF n % 3 = 0 THEN
			PERFORM pg_sleep(current_setting('authlog_demo.pace')::float8);
		END IF;
	END LOOP;
END
$$;
-- ... and one leaked password works after three failures: a likely compromise
DO $$
BEGIN
	FOR n IN 1..4 LOOP
		PERFORM authlog.record_login('acme', 'hq', 'intern', n = 4, '203.0.113.10', 'curl/8.4', 'api');
		COMMIT;
		PERFORM pg_sleep(current_setting('authlog_demo.pace')::float8);
	END LOOP;
END
$$;
-- the help desk unlocks the CFO after a phone call
SELECT authlog.reset_lockout('acme', 'finance', 'cfo', 'helpdesk:anna', 'ticket 4711: identity verified by phone') AS reset_id \gset
RESET ROLE;
