-- auth_logs is append-only: UPDATE, DELETE and TRUNCATE are refused for every role, superusers included, except the retry bookkeeping of authlog's own functions.
SELECT decision FROM authlog.record_login('t-append', 'o1', 'wes', false, '192.0.2.1', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000ab001');

\set VERBOSITY default
UPDATE authlog.auth_logs SET ip_address = '10.0.0.1' WHERE tenant_id = 't-append';
DELETE FROM authlog.auth_logs WHERE tenant_id = 't-append';
TRUNCATE authlog.auth_logs;
\set VERBOSITY terse

-- the record is intact
SELECT user_id, ip_address, retry_count FROM authlog.auth_logs WHERE tenant_id = 't-append';

-- authlog's retry bookkeeping is the one update allowed, and only inside its functions
SELECT decision FROM authlog.record_login('t-append', 'o1', 'wes', false, '192.0.2.1', 'ua', 'web',
       log_id => '00000000-0000-4000-8000-0000000ab001');
SELECT retry_count FROM authlog.auth_logs WHERE tenant_id = 't-append';
SELECT try($$UPDATE authlog.auth_logs SET retry_count = retry_count + 1 WHERE tenant_id = 't-append'$$);

-- an error inside a call does not leave the door open for the rest of the session
SELECT try($$SELECT authlog.record_login('t-append', 'o1', 'other', false, '192.0.2.1', 'ua', 'web',
           log_id => '00000000-0000-4000-8000-0000000ab001')$$);
SELECT try($$UPDATE authlog.auth_logs SET ip_address = '10.0.0.1' WHERE tenant_id = 't-append'$$);
