-- Real-time metrics ---------------------------------------------------------------

CREATE FUNCTION authlog.stat_events_readable(
	OUT tenant_id text, OUT organisation_id text, OUT event_type text,
	OUT events bigint, OUT last_minute bigint, OUT last_hour bigint,
	OUT stats_reset timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_stat_events';
COMMENT ON FUNCTION authlog.stat_events_readable() IS
	'The shared-memory event counters of the tenants and organisations the caller may read (all of them for members of pg_read_all_stats); read authlog.stat_events instead.';

CREATE VIEW authlog.stat_events AS
	SELECT s.tenant_id, s.organisation_id, s.event_type::authlog.event_type AS event_type,
	       s.events, s.last_minute, s.last_hour, s.stats_reset
	FROM authlog.stat_events_readable() s;
COMMENT ON VIEW authlog.stat_events IS
	'Committed events per tenant, organisation and event type since the last stat_reset, in the last minute and in the last hour (retries not counted), from shared memory: reading it scans no table.  Shows only what the caller may read.';

CREATE FUNCTION authlog.stat_reset() RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'authlog_stat_reset';
COMMENT ON FUNCTION authlog.stat_reset() IS
	'Sets every counter of authlog.stat_events back to zero and its stats_reset to now.';
