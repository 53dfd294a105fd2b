-- Types ------------------------------------------------------------------

CREATE TYPE authlog.event_type AS ENUM (
	'login_failed', 'account_locked', 'login_success', 'lockout_reset', 'account_moved'
);
COMMENT ON TYPE authlog.event_type IS
	'What an auth_logs row records: an attempt (login_failed, login_success), a change of lockout state (account_locked, lockout_reset), or an account moved to another organisation (account_moved, one row in each).';

CREATE TYPE authlog.auth_path AS ENUM ('web', 'mobile', 'api', 'sso');
COMMENT ON TYPE authlog.auth_path IS
	'The authentication path an attempt came through; every path is judged and recorded the same way.';

CREATE TYPE authlog.login_decision AS (
	log_id uuid,
	decision text,
	failed_login_attempts integer,
	account_locked_until timestamptz
);
COMMENT ON TYPE authlog.login_decision IS
	'What record_login decided: allowed, failed or locked, with the lockout state after the attempt.';
