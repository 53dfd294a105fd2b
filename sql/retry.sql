-- A call repeated with the same (tenant_id, log_id) returns the recorded decision, adds one to retry_count and changes no counter; derived events are never duplicated.
SET authlog.max_failed_attempts = 3;
SELECT decision, failed_login_attempts FROM authlog.record_login('t-retry', 'o1', 'nina', false, '203.0.113.60', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000f0001');
-- the same failure sent three more times (n in the arguments makes it three calls)
SELECT n, d.decision, d.failed_login_attempts
FROM generate_series(1, 3) n,
     LATERAL authlog.record_login('t-retry', 'o1', 'nina', false, '203.0.113.60', 'ua' || left(n::text, 0), 'web',
                                  log_id => '00000000-0000-4000-8000-0000000f0001') d;
SELECT log_id, failed_login_attempts, retry_count FROM authlog.auth_logs WHERE tenant_id = 't-retry';
SELECT failed_login_attempts FROM authlog.account_lockouts WHERE tenant_id = 't-retry' AND user_id = 'nina';

-- the failure that locks, then its retry after the lock: same answer, one account_locked
SELECT decision, failed_login_attempts FROM authlog.record_login('t-retry', 'o1', 'nina', false, '203.0.113.60', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000f0002');
CREATE TEMP TABLE locking AS
SELECT * FROM authlog.record_login('t-retry', 'o1', 'nina', false, '203.0.113.60', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000f0003');
SELECT log_id, decision, failed_login_attempts FROM locking;
SELECT r.log_id, r.decision, r.failed_login_attempts,
       r.account_locked_until = l.account_locked_until AS same_lock
FROM locking l,
     LATERAL authlog.record_login('t-retry', 'o1', 'nina', false, '203.0.113.60', 'ua', 'web',
             log_id => '00000000-0000-4000-8000-0000000f0003') r;
SELECT event_type, count(*) FROM authlog.auth_logs WHERE tenant_id = 't-retry' GROUP BY 1 ORDER BY 1;

-- a retry after the lock expired does not clear it a second time or count again
UPDATE authlog.account_lockouts SET account_locked_until = now() - interval '1 second'
WHERE tenant_id = 't-retry' AND user_id = 'nina';
SELECT decision, failed_login_attempts FROM authlog.record_login('t-retry', 'o1', 'nina', false, '203.0.113.60', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000f0003');
SELECT event_type, count(*) FROM authlog.auth_logs WHERE tenant_id = 't-retry' GROUP BY 1 ORDER BY 1;
SELECT log_id, retry_count FROM authlog.auth_logs WHERE tenant_id = 't-retry' AND retry_count > 0 ORDER BY log_id;

-- a success's retry returns allowed even if the account was locked since
SELECT decision FROM authlog.record_login('t-retry', 'o1', 'omar', true, '203.0.113.61', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000f0010');
SELECT decision FROM authlog.record_login('t-retry', 'o1', 'omar', false, '203.0.113.62', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-retry', 'o1', 'omar', false, '203.0.113.62', 'ua', 'web');
SELECT decision FROM authlog.record_login('t-retry', 'o1', 'omar', false, '203.0.113.62', 'ua', 'web');
SELECT decision, failed_login_attempts FROM authlog.record_login('t-retry', 'o1', 'omar', true, '203.0.113.61', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000f0010');

-- the same log_id in another tenant is another event
SELECT decision, failed_login_attempts FROM authlog.record_login('t-retry-2', 'o1', 'nina', false, '203.0.113.60', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000f0001');

-- a log_id reused for another user, or naming a derived event, is refused and writes nothing
SELECT try($$SELECT authlog.record_login('t-retry', 'o1', 'someone-else', false, '203.0.113.60', 'ua', 'web',
           log_id => '00000000-0000-4000-8000-0000000f0001')$$);
SELECT regexp_replace(try($$SELECT authlog.record_login('t-retry', 'o1', 'nina', false, '203.0.113.60', 'ua', 'web',
           log_id => (SELECT log_id FROM authlog.auth_logs WHERE tenant_id = 't-retry' AND event_type = 'account_locked' LIMIT 1))$$), '[0-9a-f-]{36}', 'its id') AS try;
SELECT sum(retry_count) FROM authlog.auth_logs WHERE tenant_id = 't-retry';
RESET authlog.max_failed_attempts;
