-- Nothing is granted to PUBLIC; the service role can call the write functions and nothing else; no role but the extension's functions writes auth_logs.
-- PUBLIC holds no privilege on any authlog object but caller_proof(), a proof of its own role (1.1)
SELECT c.relname, c.relacl FROM pg_class c
WHERE c.relnamespace = 'authlog'::regnamespace AND c.relkind IN ('r', 'p', 'v')
  AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0);
SELECT p.proname FROM pg_proc p
WHERE p.pronamespace = 'authlog'::regnamespace
  AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0));
SELECT nspname FROM pg_namespace n
WHERE nspname = 'authlog' AND EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = 0);

CREATE ROLE regress_authlog_service;
CREATE ROLE regress_authlog_nobody;
SELECT authlog.grant_service('regress_authlog_service');

-- exactly these privileges
SELECT p.proname, has_function_privilege('regress_authlog_service', p.oid, 'EXECUTE') AS service_may_call
FROM pg_proc p WHERE p.pronamespace = 'authlog'::regnamespace ORDER BY p.proname;
SELECT c.relname,
       has_table_privilege('regress_authlog_service', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') AS service_any
FROM pg_class c WHERE c.relnamespace = 'authlog'::regnamespace AND c.relkind IN ('r', 'p', 'v') ORDER BY c.relname;

SET ROLE regress_authlog_service;
SELECT decision, failed_login_attempts FROM authlog.record_login('t-priv', 'o1', 'una', false, '192.0.2.1', 'ua', 'web');
SELECT failed_login_attempts, locked FROM authlog.lockout_status('t-priv', 'una');
SELECT authlog.reset_lockout('t-priv', 'o1', 'una', 'service:selfservice') IS NOT NULL AS reset;
SELECT try($$SELECT count(*) FROM authlog.auth_logs$$);
SELECT try($$SELECT count(*) FROM authlog.account_lockouts$$);
SELECT try($$INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id, event_type, occurred_at, recorded_at, metadata, failed_login_attempts) VALUES ('t-priv', gen_random_uuid(), 'o1', 'x', 'login_success', now(), now(), '{}', 0)$$);
SELECT try($$UPDATE authlog.account_lockouts SET account_locked_until = NULL$$);
SELECT try($$DELETE FROM authlog.auth_logs$$);
SELECT try($$SELECT authlog.set_lockout_policy('t-priv', 100, '1 minute', '1 second')$$);
SELECT try($$SET authlog.max_failed_attempts = 100$$);
SELECT try($$SELECT authlog.grant_reader('regress_authlog_service', 't-priv')$$);
-- the store's connection string may hold credentials: superusers only
SELECT try($$SHOW authlog.mirror_uri$$);
SELECT count(*) FROM pg_settings WHERE name = 'authlog.mirror_uri';
SELECT try($$SELECT * FROM authlog.mirror_verify()$$);
SELECT try($$SELECT * FROM authlog.mirror_status$$);
RESET ROLE;

-- a role with no grant can call nothing
SET ROLE regress_authlog_nobody;
SELECT try($$SELECT authlog.record_login('t-priv', 'o1', 'una', false, '192.0.2.1', 'ua', 'web')$$);
SELECT try($$SELECT * FROM authlog.lockout_status('t-priv', 'una')$$);
RESET ROLE;
