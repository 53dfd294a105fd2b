SELECT decision FROM authlog.record_login('tenant1', 'org1', 'ceo', false, '203.0.113.7', 'Mozilla/5.0', 'web', '{"device": "bench"}');
