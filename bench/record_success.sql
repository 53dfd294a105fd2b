\set t random(1, 100)
\set u random(1, 10000)
SELECT decision FROM authlog.record_login('tenant' || :t, 'org1', 'user' || :u, true, '203.0.113.7', 'Mozilla/5.0', 'web', '{"device": "bench"}');
