-- authlog demo, before the campaign: install authlog and let authlog-api in.
-- The API's role may only begin requests, and read the monitoring figures
-- for /metrics; the superuser registers the identity provider's keys (here
-- the demo's own, made by test/tokens).
\set QUIET on
\o /dev/null
CREATE EXTENSION authlog;
CREATE ROLE authlog_api LOGIN;
SELECT authlog.grant_gateway('authlog_api');
SELECT authlog.grant_monitor('authlog_api');
SELECT authlog.trust_issuer(:'issuer', :'jwks'::jsonb);
