-- baseline: the same rows as an hour of attacking_ips for one tenant, by a plain index lookup
\set t random(0, 99)
\set h random(0, 238)
SELECT * FROM authlog.auth_logs
WHERE tenant_id = 'inv-' || :t
  AND occurred_at >= timestamptz '2026-01-01 00:00+00' + :h * interval '1 hour'
  AND occurred_at < timestamptz '2026-01-01 00:00+00' + (:h + 1) * interval '1 hour';
