-- A user agent over authlog.max_user_agent_length characters is stored truncated, with its original length in metadata.authlog.user_agent_length.
SHOW authlog.max_user_agent_length;
SELECT decision FROM authlog.record_login('t-ua', 'o1', 'u1', false, '192.0.2.1', repeat('A', 1024), 'web', '{"k": 1}');
SELECT decision FROM authlog.record_login('t-ua', 'o1', 'u2', false, '192.0.2.1', repeat('B', 10 * 1024 * 1024), 'web', '{"k": 1}');
SELECT decision FROM authlog.record_login('t-ua', 'o1', 'u3', false, '192.0.2.1', repeat('ü', 2000), 'web');
SELECT user_id, length(user_agent) AS kept, octet_length(user_agent) AS kept_bytes,
       left(user_agent, 3) AS starts, metadata
FROM authlog.auth_logs WHERE tenant_id = 't-ua' ORDER BY user_id;

-- the limit is the superuser's to change
SET authlog.max_user_agent_length = 16;
SELECT decision FROM authlog.record_login('t-ua', 'o1', 'u4', false, '192.0.2.1', 'Mozilla/5.0 (X11; Linux x86_64)', 'web');
SELECT user_agent, metadata FROM authlog.auth_logs WHERE tenant_id = 't-ua' AND user_id = 'u4';
RESET authlog.max_user_agent_length;

-- control characters are kept as given
SELECT decision FROM authlog.record_login('t-ua', 'o1', 'u5', false, '192.0.2.1', E'evil\r\nX-Injected: 1\t\x01', 'web');
SELECT user_agent = E'evil\r\nX-Injected: 1\t\x01' AS exact FROM authlog.auth_logs WHERE tenant_id = 't-ua' AND user_id = 'u5';
