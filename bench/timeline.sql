-- incident_timeline: one account, one day
\set t random(0, 99)
\set u random(0, 199)
\set d random(0, 8)
SELECT * FROM authlog.incident_timeline('inv-' || :t,
	timestamptz '2026-01-01 00:00+00' + :d * interval '1 day',
	timestamptz '2026-01-01 00:00+00' + (:d + 1) * interval '1 day',
	'user' || :u);
