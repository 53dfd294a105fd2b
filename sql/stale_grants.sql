-- A reader grant never passes to another role: a grant whose role was dropped, or whose OID now names another role, is ignored (and breaks nobody's reads), listed by authlog.stale_reader_grants() and removed by authlog.drop_stale_reader_grants().
CREATE ROLE regress_stale_alice;
CREATE ROLE regress_stale_bob;
CREATE ROLE regress_stale_carol;
SELECT authlog.grant_reader('regress_stale_alice', 't-stale');
SELECT authlog.grant_reader('regress_stale_bob', 't-stale-bob');
SELECT authlog.grant_reader('regress_stale_carol', 't-stale-carol');
SELECT decision FROM authlog.record_login('t-stale', 'o1', 'u1', false, NULL, NULL, 'web');
SELECT decision FROM authlog.record_login('t-stale-bob', 'o1', 'u1', false, NULL, NULL, 'web');

-- bob's role is dropped; the row that named it stays behind
DROP OWNED BY regress_stale_bob;
DROP ROLE regress_stale_bob;
-- alice's grant row comes to name carol's OID (as an OID reused after a drop, or a careless restore would)
UPDATE authlog.reader_grants SET role = 'regress_stale_carol'::regrole WHERE tenant_id = 't-stale';

-- carol does not inherit alice's grant; her own still works; nobody's reads break on bob's row
SET ROLE regress_stale_carol;
SELECT tenant_id, organisation_id FROM authlog.reader_scope ORDER BY 1;
SELECT count(*) AS alice_events_seen_by_carol FROM authlog.incident_timeline('t-stale', '-infinity', 'infinity');
SELECT count(*) AS own_lockout_rows FROM authlog.lockout_status('t-stale-carol', 'u1');
SELECT count(*) AS alice_lockout_rows FROM authlog.lockout_status('t-stale', 'u1');
RESET ROLE;

-- the stale rows are reported, and cleaned up on request
SELECT role_name, tenant_id FROM authlog.stale_reader_grants() ORDER BY 1;
SELECT authlog.drop_stale_reader_grants() AS dropped;
SELECT count(*) AS stale_left FROM authlog.stale_reader_grants();
SELECT role::text, tenant_id FROM authlog.reader_grants WHERE tenant_id LIKE 't-stale%' ORDER BY 2;
SELECT authlog.revoke_reader('regress_stale_carol');
DROP OWNED BY regress_stale_alice, regress_stale_carol;
DROP ROLE regress_stale_alice, regress_stale_carol;
