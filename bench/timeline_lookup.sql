-- baseline: the same rows as a one-day incident_timeline of one account, by a plain index lookup
\set t random(0, 99)
\set u random(0, 199)
\set d random(0, 8)
SELECT * FROM authlog.auth_logs
WHERE tenant_id = 'inv-' || :t AND user_id = 'user' || :u
  AND occurred_at >= timestamptz '2026-01-01 00:00+00' + :d * interval '1 day'
  AND occurred_at < timestamptz '2026-01-01 00:00+00' + (:d + 1) * interval '1 day';
