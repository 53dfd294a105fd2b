\set t random(1, 100)
\set u random(1, 10000)
SELECT decision FROM bench.record_login_1_0('tenant' || :t, 'org1', 'user' || :u, false, '203.0.113.7', 'Mozilla/5.0', 'web', '{"device": "bench"}');
