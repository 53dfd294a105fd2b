-- attacking_ips: one tenant, one hour
\set t random(0, 99)
\set h random(0, 238)
SELECT * FROM authlog.attacking_ips('inv-' || :t,
	timestamptz '2026-01-01 00:00+00' + :h * interval '1 hour',
	timestamptz '2026-01-01 00:00+00' + (:h + 1) * interval '1 hour', 1);
