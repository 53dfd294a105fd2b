-- The investigation functions reconstruct exactly the planted campaign (test/fixtures/campaign.sql) under row-level security: a tenant reader sees all of it, an organisation reader its part, another tenant's reader nothing.
\set ECHO none
\i test/fixtures/campaign.sql
\set ECHO all
CALL plant_campaign();
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set since '''2026-03-02 00:00+00'''
\set until '''2026-03-03 00:00+00'''

CREATE ROLE regress_acme_reader;
CREATE ROLE regress_acme_eu_reader;
CREATE ROLE regress_globex_reader;
SELECT authlog.grant_reader('regress_acme_reader', 'acme');
SELECT authlog.grant_reader('regress_acme_eu_reader', 'acme', 'acme-eu');
SELECT authlog.grant_reader('regress_globex_reader', 'globex');

SET ROLE regress_acme_reader;

-- alice's account: the brute force, the lock, the refusals, the help desk, her own login
SELECT occurred_at, event_type, ip_address, decision, reason, actor, failed_login_attempts, locked,
       log_id = campaign_id(5) AS first_planted
FROM authlog.incident_timeline('acme', :since, :until, 'alice');

-- one IP across accounts: alice's and bob's attackers, not globex's victims
SELECT occurred_at, event_type, user_id, decision, failed_login_attempts
FROM authlog.incident_timeline('acme', :since, :until, ip_address => '203.0.113.10')
WHERE event_type <> 'login_failed' OR failed_login_attempts IN (1, 10);
SELECT count(*) AS events_of_the_ip
FROM authlog.incident_timeline('acme', :since, :until, ip_address => '203.0.113.10');

-- the whole tenant, in order: each call's events stay together (lock after the attempt, reset after the success)
SELECT count(*) AS events,
       bool_and(occurred_at >= :since AND occurred_at < :until) AS all_in_period,
       count(*) FILTER (WHERE user_id = 'gina') AS other_tenant
FROM authlog.incident_timeline('acme', :since, :until);
SELECT event_type, user_id, reason
FROM authlog.incident_timeline('acme', '2026-03-02 09:03+00', '2026-03-02 09:04+00');

-- the period is [since, until)
SELECT count(*) FROM authlog.incident_timeline('acme', '2026-03-02 09:10:00+00', '2026-03-02 09:10:45+00', 'alice');

SELECT * FROM authlog.targeted_accounts('acme', :since, :until)
WHERE user_id NOT LIKE 'stuff%' OR user_id IN ('stuff01', 'stuff20');
SELECT count(*) AS stuffed_accounts, sum(failures) AS stuffing_failures, bool_and(distinct_ips = 6) AS six_ips_each
FROM authlog.targeted_accounts('acme', :since, :until) WHERE user_id LIKE 'stuff%';

-- the stuffing network, each of its IPs, the brute-force IP, the IPv6 /64 whose addresses stay under the threshold
SELECT * FROM authlog.attacking_ips('acme', :since, :until);
SELECT kind, source, failures FROM authlog.attacking_ips('acme', :since, :until, min_failures => 13);

-- the two compromises; erin's one typo and alice's login two hours after her attackers are not
SELECT user_id, organisation_id, success_at, success_ip, success_log_id = campaign_id(21) AS bobs_success,
       failures, failure_ips, first_failure_at, last_failure_at, from_failing_ip
FROM authlog.success_after_failures('acme', :since, :until);
SELECT user_id, failures FROM authlog.success_after_failures('acme', :since, :until, min_failures => 1);
SELECT user_id, failures FROM authlog.success_after_failures('acme', :since, :until, within => '3 hours');

-- why was alice locked at 09:35?  The ten failures, the lock in force until the help desk reset it
SELECT attempt, occurred_at, ip_address, user_agent, auth_path, decision, lock_log_id IS NOT NULL AS has_lock,
       locked_at, locked_until > locked_at AS lock_ends_later, lock_in_force
FROM authlog.lockout_trace('acme', 'alice', '2026-03-02 09:35+00');
SELECT count(*) AS failures, bool_or(lock_in_force) AS in_force
FROM authlog.lockout_trace('acme', 'alice', '2026-03-02 09:41+00');
-- before any lock: nothing; an account never locked: nothing
SELECT count(*) FROM authlog.lockout_trace('acme', 'alice', '2026-03-02 09:10:44+00');
SELECT count(*) FROM authlog.lockout_trace('acme', 'bob', '2026-03-02 12:00+00');
-- dave's series alternated between two addresses of one /64
SELECT attempt, ip_address, decision FROM authlog.lockout_trace('acme', 'dave', '2026-03-02 09:31+00');

SELECT * FROM authlog.compliance_report('acme', :since, :until);

-- the export: every event in a stable order, each with the digest chained over the export so far
SELECT count(*) AS events, count(DISTINCT digest) AS digests, min(seq) AS first, max(seq) AS last
FROM authlog.export_events('acme', :since, :until);
SELECT seq, event_type, user_id, occurred_at
FROM authlog.export_events('acme', :since, :until) WHERE seq BETWEEN 14 AND 17;
-- an auditor recomputes the chain from the canonical texts alone
WITH RECURSIVE e AS (SELECT * FROM authlog.export_events('acme', :since, :until)),
chain AS (
	SELECT seq, sha256(convert_to(canonical, 'UTF8')) AS digest FROM e WHERE seq = 1
	UNION ALL
	SELECT e.seq, sha256(chain.digest || convert_to(e.canonical, 'UTF8'))
	FROM chain JOIN e ON e.seq = chain.seq + 1
)
SELECT bool_and(encode(chain.digest, 'hex') = e.digest) AS chain_recomputed, count(*)
FROM chain JOIN e USING (seq);
-- the same export twice gives the same digests; a session setting changes nothing
CREATE TEMP TABLE first_export AS SELECT seq, digest FROM authlog.export_events('acme', :since, :until);
SET timezone = 'Asia/Kolkata';
SET datestyle = 'SQL, DMY';
SELECT count(*) AS differing
FROM first_export f FULL JOIN authlog.export_events('acme', :since, :until) e USING (seq)
WHERE f.digest IS DISTINCT FROM e.digest;
SET datestyle = 'ISO, YMD';
SET timezone = 'UTC';
-- one changed value changes its digest and every one after it
SELECT count(*) FILTER (WHERE d.changed) AS changed_digests, count(*) AS total
FROM (
	SELECT seq, encode(authlog.sha256_chain(CASE WHEN seq = 100 THEN replace(canonical, '198.51.100', '198.51.101') ELSE canonical END)
	                   OVER (ORDER BY seq), 'hex') <> digest AS changed
	FROM authlog.export_events('acme', :since, :until)
) d;
-- the canonical text: every column but retry_count, timestamps in UTC (recorded_at, the 10th, varies)
SELECT canonical::jsonb - 9 AS canonical_without_recorded_at,
       canonical::jsonb ->> 9 ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS recorded_at_in_utc
FROM authlog.export_events('acme', :since, :until) WHERE seq = 1;
RESET ROLE;

-- an organisation's reader: only acme-eu's accounts, events and sources
SET ROLE regress_acme_eu_reader;
SELECT user_id, failures, lockouts, success_after_failures FROM authlog.targeted_accounts('acme', :since, :until)
WHERE user_id NOT LIKE 'stuff%';
SELECT count(*) AS stuffed_accounts, bool_and(organisation_id = 'acme-eu') AS only_own
FROM authlog.targeted_accounts('acme', :since, :until) WHERE user_id LIKE 'stuff%';
SELECT kind, source, addresses, failures, accounts_tried FROM authlog.attacking_ips('acme', :since, :until, min_failures => 5)
WHERE kind = 'network' OR source = '203.0.113.10';
SELECT user_id FROM authlog.success_after_failures('acme', :since, :until);
SELECT count(*) FROM authlog.lockout_trace('acme', 'alice', '2026-03-02 09:35+00');
SELECT count(*) FROM authlog.lockout_trace('acme', 'carol', '2026-03-02 12:00+00');
SELECT event_type, events, users FROM authlog.compliance_report('acme', :since, :until) WHERE event_type IS NOT NULL;
SELECT count(*) AS events, bool_and(organisation_id = 'acme-eu') AS only_own
FROM authlog.export_events('acme', :since, :until);
SELECT count(*) FROM authlog.incident_timeline('acme', :since, :until, 'carol');
RESET ROLE;

-- another tenant's reader asking for acme: no rows, no error
SET ROLE regress_globex_reader;
SELECT count(*) FROM authlog.incident_timeline('acme', :since, :until);
SELECT count(*) FROM authlog.targeted_accounts('acme', :since, :until);
SELECT count(*) FROM authlog.attacking_ips('acme', :since, :until, min_failures => 1);
SELECT count(*) FROM authlog.success_after_failures('acme', :since, :until, min_failures => 1);
SELECT count(*) FROM authlog.lockout_trace('acme', 'alice', '2026-03-02 09:35+00');
SELECT count(*) FROM authlog.compliance_report('acme', :since, :until);
SELECT count(*) FROM authlog.export_events('acme', :since, :until);
-- its own tenant: the same attacker IP, and the globex alice who logged in after failures
SELECT kind, source, failures, accounts_tried, lockouts_caused FROM authlog.attacking_ips('globex', :since, :until, min_failures => 3);
SELECT user_id, failures, from_failing_ip FROM authlog.success_after_failures('globex', :since, :until);
RESET ROLE;

-- a role without a grant cannot call them at all
CREATE ROLE regress_no_grant;
GRANT USAGE ON SCHEMA authlog TO regress_no_grant;
SET ROLE regress_no_grant;
SELECT try($$SELECT * FROM authlog.incident_timeline('acme', NULL, NULL)$$);
SELECT try($$SELECT * FROM authlog.export_events('acme', NULL, NULL)$$);
RESET ROLE;

-- open ends are infinite bounds; a NULL bound or tenant matches nothing
SELECT count(*) FROM authlog.incident_timeline('acme', '-infinity', 'infinity', 'alice');
SELECT count(*) FROM authlog.incident_timeline('acme', NULL, 'infinity', 'alice');
SELECT count(*) FROM authlog.incident_timeline(NULL, '-infinity', 'infinity');

-- revoking the grant takes the functions away
SELECT authlog.revoke_reader('regress_globex_reader');
SET ROLE regress_globex_reader;
SELECT try($$SELECT * FROM authlog.attacking_ips('globex', NULL, NULL)$$);
RESET ROLE;
