-- The grant functions take any role name, quoted ones included, and a revoke takes back only what that grant gave: revoking a reader grant from the role that is also the auth service leaves the service working.
CREATE ROLE "Regress Acme Auditor";
CREATE ROLE "regress-service";
SELECT authlog.grant_reader('"Regress Acme Auditor"', 't-names');
SELECT authlog.grant_service('"regress-service"');
SELECT role::text, tenant_id FROM authlog.reader_grants WHERE tenant_id = 't-names';
SELECT has_function_privilege('Regress Acme Auditor', 'authlog.incident_timeline(text, timestamptz, timestamptz, text, inet, bytea)', 'EXECUTE') AS auditor_reads,
       has_function_privilege('regress-service', 'authlog.record_login(text, text, text, boolean, inet, text, authlog.auth_path, jsonb, uuid, timestamptz)', 'EXECUTE') AS service_writes;
SELECT authlog.revoke_reader('"Regress Acme Auditor"', 't-names');
SELECT has_function_privilege('Regress Acme Auditor', 'authlog.incident_timeline(text, timestamptz, timestamptz, text, inet, bytea)', 'EXECUTE') AS auditor_reads;

-- the service is also a reader; revoking the reader grant leaves it a service
CREATE ROLE regress_service_reader;
SELECT authlog.grant_service('regress_service_reader');
SELECT authlog.grant_reader('regress_service_reader', 't-names');
SELECT authlog.revoke_reader('regress_service_reader');
SET ROLE regress_service_reader;
SELECT decision FROM authlog.record_login('t-names', 'o1', 'u1', false, NULL, NULL, 'web');
SELECT failed_login_attempts FROM authlog.lockout_status('t-names', 'u1');
SELECT try($$SELECT count(*) FROM authlog.incident_timeline('t-names', '-infinity', 'infinity')$$);
RESET ROLE;
DROP OWNED BY "Regress Acme Auditor", "regress-service", regress_service_reader;
DROP ROLE "Regress Acme Auditor", "regress-service", regress_service_reader;
