-- Benchmark fixtures: the floor (a bare table shaped like auth_logs, same
-- columns and indexes, no function, no trigger, no RLS) and the hand-written
-- PL/pgSQL version of record_login's semantics that a user would write.
CREATE EXTENSION IF NOT EXISTS authlog;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA bench;

CREATE TABLE bench.bare_logs (LIKE authlog.auth_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);

-- (1.1) record_login writes into auth_logs partitioned as after two years:
-- 23 past months (empty here), this month and twelve ahead, and the default
DO $$
BEGIN
	FOR m IN 1 .. 23 LOOP
		EXECUTE format('CREATE TABLE authlog.%I PARTITION OF authlog.auth_logs FOR VALUES FROM (%L) TO (%L)',
		               'auth_logs_past_' || m,
		               (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => m)) AT TIME ZONE 'UTC',
		               (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => m - 1)) AT TIME ZONE 'UTC');
	END LOOP;
END
$$;
SELECT authlog.create_partitions(12);
CREATE TABLE bench.plpgsql_logs (LIKE authlog.auth_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
-- the table a user would write is not partitioned: its key is (tenant_id, log_id)
ALTER TABLE bench.plpgsql_logs DROP CONSTRAINT plpgsql_logs_pkey, ADD PRIMARY KEY (tenant_id, log_id);
CREATE TABLE bench.plpgsql_lockouts (LIKE authlog.account_lockouts INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);

-- the policy every bench tenant uses: a high threshold keeps the counting path hot
SELECT authlog.set_lockout_policy('tenant' || t, 100, '15 minutes', '15 minutes')
FROM generate_series(1, 100) t;

-- 1.1's write path against 1.0's, in the same run: the library keeps 1.0's
-- entry point (retries matched on user_id, no request fingerprint) for
-- databases not yet updated; bench.record_login_1_0 is that entry point
-- with 1.0's declaration.
CREATE FUNCTION bench.record_login_1_0(
	tenant_id text, organisation_id text, user_id text, success boolean, ip_address inet,
	user_agent text, auth_path authlog.auth_path, metadata jsonb DEFAULT '{}',
	log_id uuid DEFAULT NULL, occurred_at timestamptz DEFAULT pg_catalog.now())
RETURNS authlog.login_decision
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS '$libdir/authlog', 'authlog_record_login';

CREATE FUNCTION bench.record_login_plpgsql(
	p_tenant text, p_org text, p_user text, p_success boolean, p_ip inet, p_ua text,
	p_path authlog.auth_path, p_metadata jsonb DEFAULT '{}', p_log_id uuid DEFAULT NULL,
	p_occurred timestamptz DEFAULT now())
RETURNS authlog.login_decision
LANGUAGE plpgsql AS $$
DECLARE
	v_now timestamptz := now();
	v_log uuid := coalesce(p_log_id, gen_random_uuid());
	v_acc bench.plpgsql_lockouts;
	v_threshold int := 100;
	v_window interval := '15 minutes';
	v_duration interval := '15 minutes';
	v_decision text;
	v_reason text;
	v_attempts int;
	v_until timestamptz;
	v_count int;
	v_first timestamptz;
	v_rows int;
	v_result authlog.login_decision;
BEGIN
	IF p_tenant IS NULL OR p_tenant = '' OR length(p_tenant) > 256
	   OR p_user IS NULL OR p_user = '' OR length(p_user) > 256 THEN
		RAISE EXCEPTION 'bad id' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT max_failed_attempts, failure_window, lockout_duration INTO v_threshold, v_window, v_duration
	FROM authlog.lockout_policies WHERE tenant_id = p_tenant;
	SELECT * INTO v_acc FROM bench.plpgsql_lockouts WHERE tenant_id = p_tenant AND user_id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO bench.plpgsql_lockouts (tenant_id, user_id, organisation_id, updated_at)
		VALUES (p_tenant, p_user, p_org, v_now) ON CONFLICT DO NOTHING;
		SELECT * INTO v_acc FROM bench.plpgsql_lockouts WHERE tenant_id = p_tenant AND user_id = p_user FOR UPDATE;
	END IF;
	v_attempts := v_acc.failed_login_attempts;
	v_until := v_acc.account_locked_until;
	v_count := v_acc.lockout_count;
	v_first := v_acc.first_failed_at;

	IF v_until IS NOT NULL AND v_until > v_now THEN
		v_decision := 'locked';
		v_reason := 'account_locked';
	ELSE
		IF v_until IS NOT NULL THEN
			INSERT INTO bench.plpgsql_logs (tenant_id, log_id, organisation_id, user_id, event_type, occurred_at,
			                                recorded_at, metadata, reason, failed_login_attempts)
			VALUES (p_tenant, md5(v_log::text || 'expired')::uuid, p_org, p_user, 'lockout_reset', p_occurred, v_now,
			        jsonb_build_object('authlog', jsonb_build_object('cleared_failed_login_attempts', v_attempts,
			                                                         'cleared_locked_until', v_until)), 'expired', 0);
			v_attempts := 0; v_until := NULL; v_first := NULL;
		END IF;
		IF p_success THEN
			v_decision := 'allowed';
			IF v_attempts > 0 THEN
				INSERT INTO bench.plpgsql_logs (tenant_id, log_id, organisation_id, user_id, event_type, occurred_at,
				                                recorded_at, metadata, reason, failed_login_attempts)
				VALUES (p_tenant, md5(v_log::text || 'success')::uuid, p_org, p_user, 'lockout_reset', p_occurred, v_now,
				        jsonb_build_object('authlog', jsonb_build_object('cleared_failed_login_attempts', v_attempts)),
				        'login_success', 0);
			END IF;
			v_attempts := 0; v_first := NULL; v_count := 0;
		ELSE
			IF v_attempts > 0 AND v_now > v_first + v_window THEN
				v_attempts := 0;
			END IF;
			IF v_attempts = 0 THEN v_first := v_now; END IF;
			v_attempts := v_attempts + 1;
			IF v_attempts >= v_threshold THEN
				v_decision := 'locked';
				v_until := v_now + v_duration;
				v_count := v_count + 1;
				INSERT INTO bench.plpgsql_logs (tenant_id, log_id, organisation_id, user_id, event_type, occurred_at,
				                                recorded_at, metadata, failed_login_attempts, account_locked_until)
				VALUES (p_tenant, md5(v_log::text || 'locked')::uuid, p_org, p_user, 'account_locked', p_occurred, v_now,
				        '{}', v_attempts, v_until);
			ELSE
				v_decision := 'failed';
			END IF;
		END IF;
	END IF;

	INSERT INTO bench.plpgsql_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address, user_agent,
	                                auth_path, occurred_at, recorded_at, metadata, reason, decision,
	                                failed_login_attempts, account_locked_until)
	VALUES (p_tenant, v_log, p_org, p_user,
	        CASE WHEN v_decision = 'allowed' THEN 'login_success' ELSE 'login_failed' END::authlog.event_type,
	        p_ip, left(p_ua, 1024), p_path, p_occurred, v_now, p_metadata, v_reason, v_decision, v_attempts, v_until)
	ON CONFLICT (tenant_id, log_id) DO NOTHING;
	GET DIAGNOSTICS v_rows = ROW_COUNT;
	IF v_rows = 0 THEN
		UPDATE bench.plpgsql_logs SET retry_count = retry_count + 1 WHERE tenant_id = p_tenant AND log_id = v_log
		RETURNING log_id, decision, failed_login_attempts, account_locked_until INTO v_result;
		RAISE EXCEPTION 'retry inside a benchmark run';
	END IF;
	IF v_reason IS NULL THEN
		UPDATE bench.plpgsql_lockouts SET organisation_id = p_org, failed_login_attempts = v_attempts,
			first_failed_at = v_first, account_locked_until = v_until, lockout_count = v_count, updated_at = v_now,
			last_failed_at = CASE WHEN p_success THEN last_failed_at ELSE v_now END,
			last_failed_ip = CASE WHEN p_success THEN last_failed_ip ELSE p_ip END
		WHERE tenant_id = p_tenant AND user_id = p_user;
	END IF;
	RETURN (v_log, v_decision, v_attempts, v_until)::authlog.login_decision;
END
$$;
