-- A hostile search_path (objects named like ours, and like pg_catalog's, earlier on the path) does not hijack the SECURITY DEFINER functions.
CREATE SCHEMA regress_evil;
CREATE TABLE regress_evil.auth_logs (LIKE authlog.auth_logs);
CREATE TABLE regress_evil.account_lockouts (LIKE authlog.account_lockouts);
CREATE FUNCTION regress_evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz $$;
CREATE FUNCTION regress_evil.texteq_evil(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.texteq_evil);
CREATE FUNCTION regress_evil.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;

SET search_path = regress_evil, public;
SELECT decision, failed_login_attempts FROM authlog.record_login('t-path', 'o1', 'vic', false, '192.0.2.1', 'ua', 'web');
SELECT decision, failed_login_attempts FROM authlog.record_login('t-path', 'o1', 'vic', false, '192.0.2.1', 'ua', 'web');
SELECT authlog.reset_lockout('t-path', 'o1', 'vic', 'helpdesk') IS NOT NULL AS reset;
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-path', 'vic');
RESET search_path;

-- everything went to authlog's tables, timed by the real clock
SELECT count(*) AS evil_rows FROM regress_evil.auth_logs;
SELECT count(*) AS evil_accounts FROM regress_evil.account_lockouts;
SELECT event_type, recorded_at > '2020-01-01' AS real_clock
FROM authlog.auth_logs WHERE tenant_id = 't-path' ORDER BY recorded_at, event_type;

-- the functions pin their search_path
SELECT proname, proconfig FROM pg_proc
WHERE pronamespace = 'authlog'::regnamespace AND prosecdef ORDER BY proname;

DROP SCHEMA regress_evil CASCADE;
