#!/usr/bin/env bash
# make bench: the write path and the decoder against their baselines, measured
# in one run on a throwaway cluster.  Every case runs BENCH_ROUNDS times,
# interleaved with its baseline; the table shows medians and ratios, and is
# written as CSV under bench/results/.
#
#   BENCH_SECONDS   seconds per pgbench run (default 5)
#   BENCH_ROUNDS    rounds (default 3)
#   BENCH_DECODE_ROWS  rows for the decoding benchmark (default 500000)
#   BENCH_BIG_ROWS  rows of the one-transaction memory test (default 1000000)
#   BENCH_MIRROR_ROWS  pending events the mirror catches up on (default 200000)
#   BENCH_INVESTIGATE_ROWS  events the investigation functions search (default 5000000)
#   BENCH_RETIRE_ROWS  events of the month retired whole (default 1000000)
#   BENCH_ONLY      sections to run, comma-separated (default all: write,
#                   partitions, seal, retention, retire_whole, decode, memory,
#                   investigate, mirror, api; mirror needs write, retention
#                   and retire_whole need seal); also instructions, not in
#                   the default: callgrind's counts, about 10 minutes, as root
#   BENCH_SEALER_BASELINE  the build the sealer's instructions are compared
#                   with (default 3ae87c7, issue 22's "today")
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib.sh

if [ "${1:-}" != "--run" ]; then
	make -s prepare
	mkdir -p bench/results
	# the mirror's store, and the raw libmongoc client it is compared with
	store=$(mktemp -d /tmp/authlog-bench-store.XXXXXX)
	export BENCH_STORE_PORT
	BENCH_STORE_PORT=$(lib_free_port)
	bash test/ferretdb.sh start "$store" "$BENCH_STORE_PORT"
	trap 'bash test/ferretdb.sh stop "$store"; rm -rf "$store"' EXIT
	mkdir -p build
	gcc -O2 -o build/raw_bulk bench/raw_bulk.c $(pkg-config --cflags --libs libmongoc-1.0)
	# instructions: callgrind's counts, which do not move with the machine's
	# noise, before the timed sections: the sealer's per event against a
	# baseline build, both installed one after the other in one invocation
	# (this tree installed again last), record_login's per call beside
	# a bare INSERT's per row, and the decoder's per row beside pgoutput's
	# on the same WAL (make bench's timed decode ratio spreads over a fifth)
	BENCH_INSTRUCTIONS=""
	case ",${BENCH_ONLY:-}," in
	*",instructions,"*)
		if [ "$(id -u)" != 0 ]; then
			echo "== instructions: skipped, the sealer's comparison installs two builds: run make bench as root" >&2
		else
			sealer=$(BASELINE=${BENCH_SEALER_BASELINE:-3ae87c7} bash bench/sealer_instructions.sh 1000 6000 | tail -1)
			record=$(bash bench/record_instructions.sh 2000)
			record=$(echo "$record" | sed -n 1,3p)
			decode=$(bash bench/decode_instructions.sh 20000 | sed -n 1p)
			echo "== instructions (callgrind): $sealer"
			echo "$record" | sed 's/^/   /'
			echo "   $decode"
			# "BASE_REV,BASE,THIS,RECORD_NEW,RECORD_KNOWN,BARE,DECODER,PGOUTPUT" for the run's table (no spaces: LIB_ENV)
			BENCH_INSTRUCTIONS="$(echo "$sealer" | sed -E 's/.*event: ([^ ]+) ([0-9]+), this tree ([0-9]+).*/\1,\2,\3/')"
			BENCH_INSTRUCTIONS="$BENCH_INSTRUCTIONS,$(echo "$record" | awk '{ print $(NF - 2) }' | paste -sd,)"
			BENCH_INSTRUCTIONS="$BENCH_INSTRUCTIONS,$(echo "$decode" | sed -E 's/.*authlog ([0-9]+), pgoutput ([0-9]+).*/\1,\2/')"
		fi
		;;
	esac
	export BENCH_INSTRUCTIONS
	if [ "$(id -u)" = 0 ]; then
		LIB_ENV="BENCH_SECONDS=${BENCH_SECONDS:-} BENCH_ROUNDS=${BENCH_ROUNDS:-}
			BENCH_DECODE_ROWS=${BENCH_DECODE_ROWS:-} BENCH_BIG_ROWS=${BENCH_BIG_ROWS:-}
			BENCH_MIRROR_ROWS=${BENCH_MIRROR_ROWS:-} BENCH_STORE_PORT=$BENCH_STORE_PORT
			BENCH_INVESTIGATE_ROWS=${BENCH_INVESTIGATE_ROWS:-} BENCH_ONLY=${BENCH_ONLY:-}
			BENCH_RETIRE_ROWS=${BENCH_RETIRE_ROWS:-} BENCH_INSTRUCTIONS=$BENCH_INSTRUCTIONS"
		lib_rerun_as_postgres authlog-bench bench/run.sh --run
		cp "$LIB_WORK"/bench/results/* bench/results/ 2>/dev/null || true
		rm -rf "$LIB_WORK"
		exit "$LIB_RC"
	fi
	bash bench/run.sh --run
	exit
fi

seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
decode_rows=${BENCH_DECODE_ROWS:-500000}
big_rows=${BENCH_BIG_ROWS:-1000000}
mirror_rows=${BENCH_MIRROR_ROWS:-200000}
investigate_rows=${BENCH_INVESTIGATE_ROWS:-5000000}
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=bench/results

cluster=$(mktemp -d /tmp/authlog-bench-cluster.XXXXXX)
port=$(lib_free_port)
bash test/cluster.sh start "$cluster" "$port" \
	"fsync = on" "shared_buffers = '1GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '30min'" \
	"max_connections = 100" "max_replication_slots = 20" "authlog.seal_interval = 0"
trap 'bash test/cluster.sh stop "$cluster"; rm -rf "$cluster"' EXIT
export PGHOST=$cluster PGPORT=$port PGUSER=postgres PGDATABASE=postgres
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_q -f bench/setup.sql >/dev/null
psql_q -c "CREATE TABLE bench.results (section text, name text, clients int, sync text, round int, value float8)"
if [ -n "${BENCH_INSTRUCTIONS:-}" ]; then
	IFS=, read -r base_rev base_sealer this_sealer record_new record_known record_bare decoder pgoutput \
		<<<"$BENCH_INSTRUCTIONS"
	psql_q -c "INSERT INTO bench.results VALUES
		('instructions', 'sealer per event, baseline $base_rev', 0, '', 1, $base_sealer),
		('instructions', 'sealer per event', 0, '', 1, $this_sealer),
		('instructions', 'record_login failure per call, new accounts', 0, '', 1, $record_new),
		('instructions', 'record_login failure per call, known accounts', 0, '', 1, $record_known),
		('instructions', 'bare INSERT per row', 0, '', 1, $record_bare),
		('instructions', 'decoder per row', 0, '', 1, $decoder),
		('instructions', 'pgoutput per row', 0, '', 1, $pgoutput)"
fi

echo "== cluster: $(psql -XAtc 'SELECT version()')"
psql -XAt -F ' = ' -c "SELECT name, setting || coalesce(unit, '') FROM pg_settings
	WHERE name IN ('shared_buffers', 'fsync', 'wal_level', 'max_wal_size', 'logical_decoding_work_mem', 'max_connections')
	ORDER BY name" | sed 's/^/   /'
echo "   cpus = $(nproc), pgbench -T $seconds -M prepared, $rounds rounds, medians"

# One pgbench run of a script, 8 clients, synchronous_commit off, its tps
# recorded as (section, name, 8, state, round).
pgbench_8() {	# section name state round script
	local tps
	tps=$(PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -T "$seconds" -c 8 -j 2 \
		-f "bench/$5" 2>&1 | lib_pgbench_tps)
	[ -n "$tps" ] || { echo "pgbench failed for $2" >&2; exit 1; }
	psql_q -c "INSERT INTO bench.results VALUES ('$1', '$2', 8, '$3', $4, $tps)"
}

# name|script|clients|synchronous_commit|baseline name
section_write() {
	cases=(
		"bare INSERT|bare_insert.sql|1|off|"
		"record_login failure|record_failure.sql|1|off|bare INSERT"
		"PL/pgSQL failure|plpgsql_failure.sql|1|off|bare INSERT"
		"bare INSERT|bare_insert.sql|8|off|"
		"record_login failure|record_failure.sql|8|off|bare INSERT"
		"record_login 1.0 entry point failure|record_failure_1_0.sql|8|off|bare INSERT"
		"PL/pgSQL failure|plpgsql_failure.sql|8|off|bare INSERT"
		"record_login success|record_success.sql|8|off|bare INSERT"
		"record_login 90% success|record_mix.sql|8|off|bare INSERT"
		"record_login hot account|record_hot.sql|8|off|bare INSERT"
		"PL/pgSQL hot account|plpgsql_hot.sql|8|off|bare INSERT"
		"bare INSERT|bare_insert.sql|32|off|"
		"record_login failure|record_failure.sql|32|off|bare INSERT"
		"PL/pgSQL failure|plpgsql_failure.sql|32|off|bare INSERT"
		"bare INSERT|bare_insert.sql|8|on|"
		"record_login failure|record_failure.sql|8|on|bare INSERT"
		"record_login hot account|record_hot.sql|8|on|bare INSERT"
	)

	for round in $(seq 1 "$rounds"); do
		echo "== write path, round $round of $rounds"
		for c in "${cases[@]}"; do
			IFS='|' read -r name script clients sync baseline <<<"$c"
			jobs=$(( clients < 2 ? clients : 2 ))
			tps=$(PGOPTIONS="-c synchronous_commit=$sync" pgbench -n -M prepared -T "$seconds" \
				-c "$clients" -j "$jobs" -f "bench/$script" 2>&1 |
				lib_pgbench_tps)
			[ -n "$tps" ] || { echo "pgbench failed for $name" >&2; exit 1; }
			psql_q -c "INSERT INTO bench.results VALUES ('write', '$name', $clients, '$sync', $round, $tps)"
		done
	done

	echo
	echo "== write path: transactions per second (median of $rounds), ratio to the bare INSERT at the same clients and commit mode"
	psql -X -P footer=off -c "
		WITH m AS (
			SELECT name, clients, sync, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS tps
			FROM bench.results WHERE section = 'write' GROUP BY 1, 2, 3)
		SELECT m.name AS \"case\", m.clients, m.sync AS sync_commit, round(m.tps::numeric) AS tps,
		       round((m.tps / b.tps)::numeric, 2) AS \"x bare INSERT\",
		       round((m.tps / p.tps)::numeric, 2) AS \"x PL/pgSQL\"
		FROM m
		JOIN m b ON b.name = 'bare INSERT' AND b.clients = m.clients AND b.sync = m.sync
		LEFT JOIN m p ON p.clients = m.clients AND p.sync = m.sync
		     AND p.name = CASE WHEN m.name LIKE '%hot account' THEN 'PL/pgSQL hot account' ELSE 'PL/pgSQL failure' END
		     AND m.name LIKE 'record_login%' AND m.name NOT LIKE '%success%'
		ORDER BY m.sync DESC, m.clients, m.name"
}


# ---- sealing ----------------------------------------------------------------
# The sealer is paused everywhere else in this run (authlog.seal_interval = 0,
# no slot).  Here record_login runs with it off and on, interleaved; "on"
# cuts every second, so the sealer decodes and seals throughout the run.
section_seal() {
	echo
	echo "== sealing: record_login failure, 8 clients, synchronous_commit off, the sealer off and on (cutting every second)"
	set_seal_interval() {
		psql_q -c "ALTER SYSTEM SET authlog.seal_interval = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
		sleep 1
}
set_seal_interval 1s
psql_q -c "SELECT authlog.seal_now('600s')" >/dev/null	# the slot, and the write path's events
for round in $(seq 1 "$rounds"); do
	for state in off on; do
		if [ "$state" = off ]; then set_seal_interval 0; else set_seal_interval 1s; fi
		psql_q -c "SELECT authlog.seal_now('600s')" >/dev/null	# nothing left from before
		for c in "bare INSERT|bare_insert.sql" "record_login failure|record_failure.sql"; do
			IFS='|' read -r name script <<<"$c"
			pgbench_8 seal "$name" "$state" "$round" "$script"
		done
		# what the run left to seal, and how long sealing it takes
		psql_q >/dev/null <<-SQL
			SELECT events_sealed AS before, clock_timestamp() AS t0 FROM authlog.sealer_status() \gset
			SELECT authlog.seal_now('600s');
			INSERT INTO bench.results SELECT 'seal drain', 'seconds', 8, '$state', $round,
				extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);
			INSERT INTO bench.results SELECT 'seal drain', 'events', 8, '$state', $round, events_sealed - :before
			FROM authlog.sealer_status();
		SQL
	done
done
psql -X -P footer=off -c "
	WITH m AS (
		SELECT name, sync AS sealer, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS tps
		FROM bench.results WHERE section = 'seal' GROUP BY 1, 2)
	SELECT m.name AS \"case\", m.sealer, round(m.tps::numeric) AS tps,
	       round((m.tps / b.tps)::numeric, 2) AS \"x bare INSERT, sealer off\",
	       round((m.tps / o.tps)::numeric, 2) AS \"x same case, sealer off\"
	FROM m JOIN m b ON b.name = 'bare INSERT' AND b.sealer = 'off'
	JOIN m o ON o.name = m.name AND o.sealer = 'off'
	ORDER BY m.name, m.sealer"
psql -XAt -c "
	WITH d AS (SELECT name, sync, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS v
	           FROM bench.results WHERE section = 'seal drain' GROUP BY 1, 2)
	SELECT '   left to seal after a run, sealer off: ' || round(e.v) || ' events, sealed in ' || round(t.v::numeric, 2)
	       || ' s (' || round(e.v / t.v) || ' events/s); sealer on: ' || round(e2.v) || ' events, ' || round(t2.v::numeric, 2) || ' s'
	FROM d e, d t, d e2, d t2
	WHERE e.name = 'events' AND e.sync = 'off' AND t.name = 'seconds' AND t.sync = 'off'
	  AND e2.name = 'events' AND e2.sync = 'on' AND t2.name = 'seconds' AND t2.sync = 'on'"
psql_q >/dev/null <<-SQL
	SELECT clock_timestamp() AS t0 \gset
	CREATE TEMP TABLE findings AS SELECT status FROM authlog.verify_seals();
	SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS verify_seconds \gset
	INSERT INTO bench.results SELECT 'seal verify', 'seconds', 0, '', 1, :verify_seconds;
	INSERT INTO bench.results SELECT 'seal verify', status, 0, '', 1, count(*) FROM findings GROUP BY status;
SQL
psql -XAt -c "SELECT '   verify_seals over ' || sum(event_count) || ' events in ' || count(*) || ' seals of ' || count(DISTINCT tenant_id)
	|| ' tenants: ' || (SELECT string_agg(value || ' ' || name, ', ') FROM bench.results WHERE section = 'seal verify' AND name <> 'seconds')
	|| ', in ' || (SELECT round(value::numeric, 1) FROM bench.results WHERE section = 'seal verify' AND name = 'seconds')
	|| ' s (' || round(sum(event_count) / (SELECT value FROM bench.results WHERE section = 'seal verify' AND name = 'seconds')) || ' events/s)'
	FROM authlog.seals"
set_seal_interval 0
psql_q -c "SELECT pg_drop_replication_slot('authlog_seal')" >/dev/null	# no WAL pinned for the rest
}


# ---- partitions ----------------------------------------------------------------
# What auth_logs' partitions cost the write path, in one run: record_login
# with the 23 past months of bench/setup.sql detached (this month, the 12
# ahead and the default: 14 partitions) and attached (37), interleaved round
# by round.  The past months are empty here; a deployment's hold rows, so a
# probe into each costs more there, not less.
bench_past_months() {	# detach | attach
	psql_q -c "DO \$\$
	BEGIN
		FOR m IN 1 .. 23 LOOP
			IF '$1' = 'detach' THEN
				EXECUTE format('ALTER TABLE authlog.auth_logs DETACH PARTITION authlog.%I', 'auth_logs_past_' || m);
			ELSE
				EXECUTE format('ALTER TABLE authlog.auth_logs ATTACH PARTITION authlog.%I FOR VALUES FROM (%L) TO (%L)',
				               'auth_logs_past_' || m,
				               (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => m)) AT TIME ZONE 'UTC',
				               (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => m - 1)) AT TIME ZONE 'UTC');
			END IF;
		END LOOP;
	END
	\$\$" >/dev/null
}
section_partitions() {
	local cases=("record_login failure|record_failure.sql" "record_login success|record_success.sql")
	echo
	echo "== partitions: record_login, 8 clients, synchronous_commit off, with 14 and 37 partitions (23 past months detached, attached)"
	for round in $(seq 1 "$rounds"); do
		for state in 14 37; do
			[ "$state" = 14 ] && bench_past_months detach || bench_past_months attach
			for c in "${cases[@]}"; do
				IFS='|' read -r name script <<<"$c"
				pgbench_8 partitions "$name" "$state" "$round" "$script"
			done
		done
	done
	psql -X -P footer=off -c "
		WITH m AS (
			SELECT name, sync::int AS partitions, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS tps,
			       string_agg(round(value::numeric)::text, ' ' ORDER BY round) AS rounds
			FROM bench.results WHERE section = 'partitions' GROUP BY 1, 2)
		SELECT m.name AS \"case\", m.partitions, round(m.tps::numeric) AS tps, m.rounds,
		       round((m.tps / b.tps)::numeric, 2) AS \"x 14 partitions\"
		FROM m JOIN m b ON b.name = m.name AND b.partitions = 14
		ORDER BY m.name, m.partitions"
}


# record_login failures, 8 clients, synchronous_commit off, with pgbench's
# per-transaction log in DIR: prints tps, p50 and p99 (ms)
pgbench_latency() {	# DIR
	local tps
	mkdir -p "$1"
	tps=$( (cd "$1" && PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -T "$seconds" -c 8 -j 2 \
		-l --log-prefix=tx -f "$top/bench/record_failure.sql" 2>&1) | lib_pgbench_tps)
	[ -n "$tps" ] || { echo "pgbench failed ($1)" >&2; exit 1; }
	# the third field of pgbench's log: each transaction's latency in microseconds
	echo "$tps" $(cat "$1"/tx.* | awk '{ print $3 }' | sort -n |
		awk '{ v[NR] = $1 } END { print v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000 }')
}

# ---- retention ---------------------------------------------------------------
# The write and seal sections leave their events sealed (the seal section
# drains after each run).  Here record_login failures run with 8 clients
# alone and beside CALL authlog.run_retention() retiring those events under
# a default retention of one second, interleaved round by round; pgbench's
# per-transaction log gives each run's latency percentiles.  A run beside
# retention is cancelled when pgbench ends (its batch rolls back, the
# committed ones stay), so every "beside" round retires while it measures.
section_retention() {
	local sealed
	sealed=$(psql -XAt -c "SELECT count(*) FROM authlog.seal_members")
	echo
	echo "== retention: record_login failure, 8 clients, synchronous_commit off, alone and beside a retention run ($sealed sealed events to retire)"
	psql_q -c "ALTER SYSTEM SET authlog.default_retention = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 2
	for round in $(seq 1 "$rounds"); do
		for state in alone beside; do
			local logs="$cluster/retention-$state-$round" runner=
			local before
			before=$(psql -XAt -c "SELECT coalesce(sum(cardinality(retired)), 0) FROM authlog.records_log")
			if [ "$state" = beside ]; then
				psql -X -q -c "SET client_min_messages = warning" -c "CALL authlog.run_retention()" >/dev/null 2>&1 &
				runner=$!
				psql -XAt -c "SELECT pg_sleep(0.5)" >/dev/null	# the run is under way
			fi
			read -r tps p50 p99 < <(pgbench_latency "$logs")
			if [ -n "$runner" ]; then
				psql -XAt -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL authlog.run_retention%'" >/dev/null
				wait "$runner" || true
			fi
			psql_q -c "INSERT INTO bench.results VALUES
				('retention', 'tps', 8, '$state', $round, $tps),
				('retention', 'p50 ms', 8, '$state', $round, $p50),
				('retention', 'p99 ms', 8, '$state', $round, $p99),
				('retention', 'retired per s', 8, '$state', $round,
				 ((SELECT coalesce(sum(cardinality(retired)), 0) FROM authlog.records_log) - $before) / $seconds::float8)"
		done
	done
	psql_q -c "ALTER SYSTEM RESET authlog.default_retention" -c "SELECT pg_reload_conf()" >/dev/null
	psql -X -P footer=off -c "
		WITH m AS (
			SELECT name, sync AS state, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS v,
			       string_agg(round(value::numeric, 1)::text, ' ' ORDER BY round) AS rounds
			FROM bench.results WHERE section = 'retention' GROUP BY 1, 2)
		SELECT m.state AS record_login, round(t.v::numeric) AS tps, round(p50.v::numeric, 2) AS p50_ms,
		       round(m.v::numeric, 2) AS p99_ms, m.rounds AS p99_rounds,
		       round((m.v / a.v)::numeric, 2) AS \"p99 x alone\",
		       round((t.v / ta.v)::numeric, 2) AS \"tps x alone\",
		       round(r.v::numeric) AS retired_per_s
		FROM m JOIN m a ON a.name = 'p99 ms' AND a.state = 'alone'
		JOIN m t ON t.name = 'tps' AND t.state = m.state JOIN m ta ON ta.name = 'tps' AND ta.state = 'alone'
		JOIN m p50 ON p50.name = 'p50 ms' AND p50.state = m.state
		JOIN m r ON r.name = 'retired per s' AND r.state = m.state
		WHERE m.name = 'p99 ms' ORDER BY m.state"
}


# ---- a partition retired whole -------------------------------------------------
# BENCH_RETIRE_ROWS events (default 1,000,000) of the 100 bench tenants in
# one past month (auth_logs_past_2, filled past the triggers and sealed) are
# past a default retention of one second; record_login failures run with 8
# clients alone, then throughout authlog.retire_partition() retiring the
# month whole (a record per seal, the ids removed, the partition dropped
# under a lock waited for at most 50 ms at a time; the logins measured from
# its start to its commit), round by round; the month is filled and sealed
# again before each round.  Its rate is set beside the
# batches' of the retention section (the same run, another table's rows).
retire_month_fill() {
	psql_q -v rows="$retire_rows" <<'SQL' >/dev/null
SET client_min_messages = warning;
SELECT format('CREATE TABLE IF NOT EXISTS authlog.auth_logs_past_2 PARTITION OF authlog.auth_logs FOR VALUES FROM (%L) TO (%L)',
              (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '2 months') AT TIME ZONE 'UTC',
              (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC') \gexec
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO authlog.auth_logs_past_2 (tenant_id, log_id, organisation_id, user_id, event_type, ip_address, user_agent,
                                      auth_path, occurred_at, recorded_at, metadata, decision, failed_login_attempts)
SELECT 'tenant' || (1 + n % 100), gen_random_uuid(), 'org1', 'old' || (n % 50000), 'login_failed', '203.0.113.9',
       'Mozilla/5.0', 'web', t, t, '{"device": "bench"}', 'failed', 1
FROM generate_series(1, :rows) n,
     LATERAL (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '2 months'
                      + interval '27 days' * n / (:rows + 1)) AT TIME ZONE 'UTC' AS t) x;
INSERT INTO authlog.event_ids (tenant_id, log_id, recorded_at)
SELECT tenant_id, log_id, recorded_at FROM authlog.auth_logs_past_2;
COMMIT;
SELECT authlog.seal_now('600s');
SQL
}
section_retire_whole() {
	retire_rows=${BENCH_RETIRE_ROWS:-1000000}
	echo
	echo "== a partition retired whole: record_login failure, 8 clients, synchronous_commit off, alone and beside retire_partition() of $retire_rows events"
	psql_q -c "ALTER SYSTEM SET authlog.default_retention = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
	for round in $(seq 1 "$rounds"); do
		retire_month_fill
		sleep 1.5	# the seals closed before the retention's cutoff
		for state in alone beside; do
			local logs="$cluster/retire-$state-$round" loader started ended
			if [ "$state" = alone ]; then
				read -r tps p50 p99 < <(pgbench_latency "$logs")
			else
				# the logins throughout the retirement, its drop and commit included
				mkdir -p "$logs"
				(cd "$logs" && PGOPTIONS="-c synchronous_commit=off" exec pgbench -n -M prepared -T 3600 -c 8 -j 2 \
					-l --log-prefix=tx -f "$top/bench/record_failure.sql" >/dev/null 2>&1) &
				loader=$!
				sleep 1
				started=$(date +%s.%N)
				psql -XAt -c "SELECT retired FROM authlog.retire_partition()" >"$logs.retired" 2>&1 ||
					{ kill -INT "$loader"; echo "retire_partition failed: $(cat "$logs.retired")" >&2; exit 1; }
				ended=$(date +%s.%N)
				kill -INT "$loader"
				wait "$loader" || true
				[ "$(cat "$logs.retired")" = "$retire_rows" ] ||
					{ echo "retire_partition retired $(cat "$logs.retired"), not $retire_rows" >&2; exit 1; }
				# pgbench's log: the 5th and 6th fields are when each transaction ended
				read -r tps p50 p99 < <(cat "$logs"/tx.* | awk -v from="$started" -v to="$ended" \
					'$5 + $6 / 1e6 >= from && $5 + $6 / 1e6 <= to { print $3 }' | sort -n |
					awk -v from="$started" -v to="$ended" '{ v[NR] = $1 }
						END { print NR / (to - from), v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000 }')
				psql_q -c "INSERT INTO bench.results VALUES
					('retire whole', 'retired per s', 8, '$state', $round, $retire_rows / ($ended - $started)),
					('retire whole', 'seconds', 8, '$state', $round, $ended - $started)"
			fi
			psql_q -c "INSERT INTO bench.results VALUES
				('retire whole', 'tps', 8, '$state', $round, $tps),
				('retire whole', 'p50 ms', 8, '$state', $round, $p50),
				('retire whole', 'p99 ms', 8, '$state', $round, $p99)"
		done
	done
	psql_q -c "ALTER SYSTEM RESET authlog.default_retention" -c "SELECT pg_reload_conf()" >/dev/null
	retire_rows=0 retire_month_fill	# the month back, empty
	psql -X -P footer=off -c "
		WITH m AS (
			SELECT name, sync AS state, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS v,
			       string_agg(round(value::numeric, 1)::text, ' ' ORDER BY round) AS rounds
			FROM bench.results WHERE section = 'retire whole' GROUP BY 1, 2)
		SELECT m.state AS record_login, round(t.v::numeric) AS tps, round(m.v::numeric, 2) AS p99_ms, m.rounds AS p99_rounds,
		       round((m.v / a.v)::numeric, 2) AS \"p99 x alone\", round((t.v / ta.v)::numeric, 2) AS \"tps x alone\",
		       round(s.v::numeric, 1) AS retire_seconds, round(r.v::numeric) AS retired_per_s,
		       round((r.v / nullif(b.v, 0))::numeric, 1) AS \"rate x batches\"
		FROM m JOIN m a ON a.name = 'p99 ms' AND a.state = 'alone'
		JOIN m t ON t.name = 'tps' AND t.state = m.state JOIN m ta ON ta.name = 'tps' AND ta.state = 'alone'
		LEFT JOIN m s ON s.name = 'seconds' AND s.state = m.state
		LEFT JOIN m r ON r.name = 'retired per s' AND r.state = m.state
		LEFT JOIN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS v FROM bench.results
		           WHERE section = 'retention' AND name = 'retired per s' AND sync = 'beside') b ON r.v IS NOT NULL
		WHERE m.name = 'p99 ms' ORDER BY m.state"
}


# ---- decoding -------------------------------------------------------------
# Each plugin decodes the same WAL three ways, timed:
# - peeked (pg_logical_slot_peek_binary_changes), as before: the peek keeps
#   every message in a tuplestore, which spills to a temporary file beyond
#   work_mem (4 MB), so the figure includes writing and reading back every
#   byte the plugin returns (perf: 40 % of authlog's peek is the kernel's
#   copies, and its messages carry whole documents: 770 bytes a row against
#   pgoutput's 322);
# - peeked in memory, work_mem 2 GB: the same without the temporary file;
# - streamed through a walsender to pg_recvlogical writing to /dev/null, as
#   a subscriber or a SIEM reads a slot, from a copy of the plugin's slot
#   (pg_copy_logical_replication_slot) so that every round reads the same
#   changes; timed from the client's start to its exit at the WAL's end.
# The rows' checkpoint is taken and every plugin peeks once untimed before
# the first round, and each round starts at the next plugin: the first
# timed peeks of a run (authlog's, always, before) came out up to half as
# fast as the rest while the load's writes were still settling.
section_decode() {
	local end t0 t1 peek peek_section work_mem i n
	echo
	echo "== decoding: $decode_rows auth_logs rows in 1,000-row transactions, by each plugin (peeked; peeked in memory; streamed)"
	psql_q -f bench/decode_setup.sql >/dev/null
	psql_q -c "CALL bench.generate_events($(( decode_rows / 1000 )), 1000)"
	end=$(psql -X -At -c "SELECT pg_catalog.pg_current_wal_lsn()")
	psql_q -c "CHECKPOINT" >/dev/null
	plugins=(
		"authlog (bson)|true|bench_authlog|"
		"wal2json format 2|false|bench_wal2json|'format-version', '2'"
		"test_decoding|false|bench_test_decoding|'skip-empty-xacts', '1'"
		"pgoutput|true|bench_pgoutput|'proto_version', '1', 'publication_names', 'bench_tables'"
		"decode floor (pgoutput, empty publication)|true|bench_floor|'proto_version', '1', 'publication_names', 'bench_nothing'"
	)
	n=${#plugins[@]}
	for p in "${plugins[@]}"; do
		IFS='|' read -r name binary slot options <<<"$p"
		[ -n "$options" ] || options="VARIADIC '{}'::text[]"
		psql_q -c "SET work_mem = '2GB'" -c "SELECT bench.decode_seconds('$slot', $binary, $options)" >/dev/null
	done
	for round in $(seq 1 "$rounds"); do
		for i in $(seq 0 $(( n - 1 ))); do
			p=${plugins[$(( (round - 1 + i) % n ))]}
			IFS='|' read -r name binary slot options <<<"$p"
			stream_options=$(sed -E "s/'([^']*)', '([^']*)'(, )?/-o \1=\2 /g" <<<"$options")
			[ -n "$options" ] || options="VARIADIC '{}'::text[]"
			for peek in "decode|4MB" "decode in memory|2GB"; do
				IFS='|' read -r peek_section work_mem <<<"$peek"
				psql_q -c "SET work_mem = '$work_mem'" -c "INSERT INTO bench.results SELECT '$peek_section', '$name', 0, '', $round,
					$decode_rows / bench.decode_seconds('$slot', $binary, $options)"
			done
			psql_q -c "SELECT pg_catalog.pg_copy_logical_replication_slot('$slot', 'bench_stream')" >/dev/null
			t0=$(date +%s.%N)
			# shellcheck disable=SC2086 # the plugin's options, one -o each
			"$(pg_config --bindir)/pg_recvlogical" -d "$PGDATABASE" --slot bench_stream --start --endpos "$end" --no-loop -f /dev/null $stream_options
			t1=$(date +%s.%N)
			psql_q -c "SELECT pg_catalog.pg_drop_replication_slot('bench_stream')" >/dev/null
			psql_q -c "INSERT INTO bench.results VALUES ('decode streamed', '$name', 0, '', $round,
				$decode_rows / ($t1 - $t0))"
		done
	done
	psql -X -P footer=off -c "
		WITH m AS (
			SELECT section, name, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS rows_per_s
			FROM bench.results WHERE section IN ('decode', 'decode in memory', 'decode streamed') GROUP BY 1, 2)
		SELECT m.name AS plugin,
		       CASE m.section WHEN 'decode' THEN 'peeked' WHEN 'decode in memory' THEN 'peeked in memory'
		                      ELSE 'streamed' END AS how,
		       round(m.rows_per_s::numeric) AS rows_per_second,
		       round((m.rows_per_s / w.rows_per_s)::numeric, 2) AS \"x wal2json\",
		       round((m.rows_per_s / p.rows_per_s)::numeric, 2) AS \"x pgoutput\"
		FROM m
		JOIN m w ON w.section = m.section AND w.name = 'wal2json format 2'
		JOIN m p ON p.section = m.section AND p.name = 'pgoutput'
		ORDER BY m.section, m.rows_per_s DESC"
	for s in bench_authlog bench_wal2json bench_test_decoding bench_pgoutput bench_floor; do
		psql_q -c "SELECT pg_drop_replication_slot('$s')" >/dev/null
	done
}


# ---- memory of a large transaction ----------------------------------------
section_memory() {
	echo
	echo "== decoding backend's peak memory (VmHWM): a 1,000-row transaction against a $big_rows-row one"
	psql_q -c "SELECT 'slot' FROM pg_create_logical_replication_slot('bench_small', 'authlog')" >/dev/null
	psql_q -c "CALL bench.generate_events(1, 1000)"
	small_end=$(psql -XAtc "SELECT pg_current_wal_lsn()")
	psql_q -c "SELECT 'slot' FROM pg_create_logical_replication_slot('bench_big', 'authlog')" >/dev/null
	psql_q -c "CALL bench.generate_events(1, $big_rows)"
	peak_sql="SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint / 1024"
	small=$(psql -XAt -c "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('bench_small', '$small_end', NULL)" -c "$peak_sql" | tail -1)
	big=$(psql -XAt -c "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('bench_big', NULL, NULL)" -c "$peak_sql" | tail -1)
	echo "   1,000-row transaction: ${small} MB;  $big_rows-row transaction: ${big} MB  (logical_decoding_work_mem = $(psql -XAtc 'SHOW logical_decoding_work_mem'))"
	psql_q -c "INSERT INTO bench.results VALUES ('memory', '1000-row transaction', 0, '', 1, $small), ('memory', '$big_rows-row transaction', 0, '', 1, $big)"
}


# ---- investigation ------------------------------------------------------------
section_investigate() {
	echo
	echo "== investigation: $investigate_rows events over 100 tenants, ten days; queries per second (median of $rounds), ratio to a plain index lookup of the same rows"
	psql_q -f bench/investigate_setup.sql >/dev/null
	psql_q -c "CALL bench.generate_investigation($investigate_rows)"
	psql_q -c "VACUUM ANALYZE authlog.auth_logs"
	# name|script|role|baseline name
	queries=(
		"index lookup: one account, one day|timeline_lookup.sql|postgres|"
		"incident_timeline: one account, one day|timeline.sql|postgres|index lookup: one account, one day"
		"incident_timeline, as a reader under RLS|timeline.sql|bench_reader|index lookup: one account, one day"
		"index lookup: one tenant, one hour|attacking_lookup.sql|postgres|"
		"attacking_ips: one tenant, one hour|attacking_ips.sql|postgres|index lookup: one tenant, one hour"
		"attacking_ips, as a reader under RLS|attacking_ips.sql|bench_reader|index lookup: one tenant, one hour"
	)
	for round in $(seq 1 "$rounds"); do
		for q in "${queries[@]}"; do
			IFS='|' read -r name script role baseline <<<"$q"
			tps=$(PGUSER=$role pgbench -n -M prepared -T "$seconds" -c 2 -j 2 -f "bench/$script" 2>&1 |
				lib_pgbench_tps)
			[ -n "$tps" ] || { echo "pgbench failed for $name" >&2; exit 1; }
			psql_q -c "INSERT INTO bench.results VALUES ('investigate', '$name', 2, '', $round, $tps)"
		done
	done
	psql_q -c "CREATE TABLE bench.baselines (name text, baseline text)"
	for q in "${queries[@]}"; do
		IFS='|' read -r name script role baseline <<<"$q"
		psql_q -c "INSERT INTO bench.baselines VALUES ('$name', nullif('$baseline', ''))"
	done
	psql -X -P footer=off -c "
		WITH m AS (
			SELECT r.name, bl.baseline, percentile_cont(0.5) WITHIN GROUP (ORDER BY r.value) AS qps
			FROM bench.results r JOIN bench.baselines bl USING (name)
			WHERE r.section = 'investigate' GROUP BY 1, 2)
		SELECT m.name AS query, round(m.qps::numeric) AS queries_per_second,
		       round((m.qps / b.qps)::numeric, 2) AS \"x index lookup\"
		FROM m LEFT JOIN m b ON b.name = m.baseline
		ORDER BY coalesce(m.baseline, m.name), m.baseline IS NOT NULL, m.name"
	rows_account=$(psql -XAtc "SELECT round(avg(c), 1) FROM (SELECT count(*) c FROM authlog.auth_logs WHERE tenant_id LIKE 'inv-%'
		GROUP BY tenant_id, user_id, date_trunc('day', occurred_at AT TIME ZONE 'UTC')) d")
	rows_hour=$(psql -XAtc "SELECT round(avg(c), 1) FROM (SELECT count(*) c FROM authlog.auth_logs WHERE tenant_id LIKE 'inv-%'
		GROUP BY tenant_id, date_trunc('hour', occurred_at AT TIME ZONE 'UTC')) d")
	echo "   rows per account and day: $rows_account;  per tenant and hour: $rows_hour"
}


# ---- the mirror -------------------------------------------------------------
# A cluster of its own, so the mirror starts from empty tables.
# The lag probes of bench.lag: printed with the differences mirror_verify
# finds among the tenants that match (a LIKE clause), and kept as section's
# p50 and p99 at rate.
report_lag() {
	local section=$1 rate=$2 tenants=$3 lag
	mpsql -P footer=off -c "
		SELECT count(*) AS probes,
		       round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds))::numeric, 1) AS p50_ms,
		       round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds))::numeric, 1) AS p99_ms,
		       round((1000 * max(seconds))::numeric, 1) AS max_ms,
		       (SELECT count(*) FROM authlog.mirror_verify() WHERE tenant_id $tenants) AS differences_after
		FROM bench.lag"
	lag=$(mpsql -At -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) || ',' || percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) FROM bench.lag")
	psql_q -c "INSERT INTO bench.results VALUES ('$section', 'p50 seconds', $rate, '', 1, ${lag%,*}), ('$section', 'p99 seconds', $rate, '', 1, ${lag#*,})"
}

section_mirror() {
	success_tps=$(psql -XAt -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM bench.results
		WHERE name = 'record_login success' AND clients = 8")
	mcluster=$(mktemp -d /tmp/authlog-bench-mirror.XXXXXX)
	mport=$(lib_free_port)
	uri="mongodb://127.0.0.1:$BENCH_STORE_PORT/"
	bash test/cluster.sh start "$mcluster" "$mport" "authlog.mirror_uri = '$uri'" \
		"authlog.store_database = 'authlog_bench'" "authlog.mirror_idle_advance = '1s'" \
		"synchronous_commit = off" "shared_buffers = '512MB'" "max_wal_size = '8GB'" \
		"authlog.seal_interval = 0"
	trap 'bash test/cluster.sh stop "$cluster"; rm -rf "$cluster"; bash test/cluster.sh stop "$mcluster"; rm -rf "$mcluster"' EXIT
	mpsql() { psql -X -q -v ON_ERROR_STOP=1 -h "$mcluster" -p "$mport" "$@"; }
	mpsql -f bench/mirror_setup.sql >/dev/null
	mpsql -c "SELECT authlog.mirror_sync('60s')" >/dev/null

	echo
	echo "== mirror catch-up: $mirror_rows pending events (auth_logs inserts, 1,000 a transaction)"
	for round in $(seq 1 "$rounds"); do
		mpsql -c "ALTER SYSTEM SET authlog.mirror_uri = ''" -c "SELECT pg_reload_conf()" >/dev/null
		# the mirror off releases its slot, which the streaming worker holds
		mpsql -c "DO \$\$ BEGIN WHILE (SELECT state FROM authlog.mirror_status) <> 'disabled' LOOP
			PERFORM pg_sleep(0.05); END LOOP; END \$\$" >/dev/null
		mpsql -c "CALL bench.generate_events($(( mirror_rows / 1000 )), 1000, 'catchup$round')"
		mpsql -At -c "SELECT encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('authlog_mirror', NULL, NULL)" \
			>"$mcluster/pending.hex"
		head -n 500 "$mcluster/pending.hex" >"$mcluster/sample.hex"
		started=$(date +%s.%N)
		# each round into an empty store database, like the raw client's collection
		mpsql -c "ALTER SYSTEM RESET authlog.mirror_uri" \
			-c "ALTER SYSTEM SET authlog.store_database = 'authlog_bench_$round'" -c "SELECT pg_reload_conf()" >/dev/null
		mpsql -c "SELECT authlog.mirror_sync('30min')" >/dev/null
		mirror_rate=$(awk -v n="$mirror_rows" -v t0="$started" -v t1="$(date +%s.%N)" 'BEGIN { print n / (t1 - t0) }')
		raw_insert=$(build/raw_bulk "$uri" authlog_raw "insert_$round" insert "$mcluster/pending.hex")
		raw_upsert=$(build/raw_bulk "$uri" authlog_raw "upsert_$round" upsert "$mcluster/sample.hex")
		psql_q -c "INSERT INTO bench.results VALUES
			('mirror', 'authlog mirror catch-up', 0, '', $round, $mirror_rate),
			('mirror', 'raw libmongoc ordered bulk insert', 0, '', $round, $raw_insert),
			('mirror', 'raw libmongoc ordered bulk upsert (replace, first 500)', 0, '', $round, $raw_upsert)"
	done
	psql -X -P footer=off -c "
		WITH m AS (
			SELECT name, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS docs_per_s
			FROM bench.results WHERE section = 'mirror' GROUP BY 1)
		SELECT m.name AS writer, round(m.docs_per_s::numeric) AS documents_per_second,
		       round((a.docs_per_s / m.docs_per_s)::numeric, 2) AS \"mirror x this\"
		FROM m, m a WHERE a.name = 'authlog mirror catch-up'
		ORDER BY m.docs_per_s DESC"

	raw_rate=$(psql -XAt -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM bench.results
		WHERE name = 'raw libmongoc ordered bulk insert'")
	rate=$(awk -v a="$raw_rate" -v b="$success_tps" 'BEGIN { r = a < b ? a : b; printf "%d", r / 2 }')
	echo
	echo "== mirror lag while record_login runs at $rate logins/s (half the lower of the raw bulk rate and record_login's maximum)"
	sed 's/random(1, 10000)/random(1, 100000000)/' bench/record_success.sql >"$mcluster/fresh_success.sql"
	pgbench -n -h "$mcluster" -p "$mport" -M prepared -c 4 -j 2 -R "$rate" -T 40 -f "$mcluster/fresh_success.sql" postgres \
		>"$mcluster/pgbench.log" 2>&1 &
	pgbench_pid=$!
	sleep 2
	mpsql -c "CALL bench.probe_lag(300)"
	wait "$pgbench_pid" || true
	mpsql -c "SELECT authlog.mirror_sync('10min')" >/dev/null
	# (the catch-up rounds wrote to store databases of their own: only this phase's tenants are compared)
	report_lag lag "$rate" "NOT LIKE 'catchup%'"

	# the realistic mix (issue 22): 90 % successes, 10 % failures over 100
	# tenants x 2,000 accounts at 400 logins/s (or the rate above, if lower):
	# nearly every login updates an account_lockouts document by its _id
	mix_rate=$(( rate < 400 ? rate : 400 ))
	echo
	echo "== mirror lag, the realistic mix at $mix_rate logins/s (bench/record_realistic.sql)"
	mpsql -c "TRUNCATE bench.lag" >/dev/null
	pgbench -n -h "$mcluster" -p "$mport" -M prepared -c 4 -j 2 -R "$mix_rate" -T 60 -f bench/record_realistic.sql postgres \
		>"$mcluster/pgbench-mix.log" 2>&1 &
	pgbench_pid=$!
	sleep 15	# accounts exist by now: their lockout documents are updated
	mpsql -c "CALL bench.probe_lag(300)"
	wait "$pgbench_pid" || true
	mpsql -c "SELECT authlog.mirror_sync('20min')" >/dev/null
	report_lag 'lag mix' "$mix_rate" "LIKE 'mix%'"
}

# authlog-api: Go benchmarks (api/internal/httpapi/bench_test.go) on the
# test binary's own throwaway cluster; every round runs each benchmark once.
section_api() {
	echo
	echo "== authlog-api: a 100-event page over HTTP (ndjson) vs the same poll_events over pgx, both after begin_request, 8 clients"
	AUTHLOG_TOP=$top build/api-tests/httpapi.test -test.run '^$' -test.bench . -test.benchtime "${seconds}s" -test.count "$rounds" \
		>"$cluster/api-bench.txt" 2>&1 || { cat "$cluster/api-bench.txt"; return 1; }
	awk '/^Benchmark/ { name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name); round[name]++
		printf "(\x27api\x27, \x27%s ns/op\x27, 8, \x27\x27, %d, %s),\n", name, round[name], $3
		for (i = 5; i + 1 <= NF; i += 2) printf "(\x27api\x27, \x27%s %s\x27, 8, \x27\x27, %d, %s),\n", name, $(i + 1), round[name], $i }' \
		"$cluster/api-bench.txt" | sed '$ s/,$//' >"$cluster/api-bench.sql"
	psql_q -c "INSERT INTO bench.results VALUES $(cat "$cluster/api-bench.sql")"
	psql -X -P footer=off -c "
		WITH r AS (SELECT round, max(value) FILTER (WHERE name = 'EventsPagePgx ns/op') AS pgx,
		                  max(value) FILTER (WHERE name = 'EventsPageHTTP ns/op') AS http,
		                  max(value) FILTER (WHERE name = 'TokenCheck ns/op') AS token
		           FROM bench.results WHERE section = 'api' GROUP BY round)
		SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY 1e9 / pgx)::numeric, 1) AS pgx_pages_per_s,
		       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY 1e9 / http)::numeric, 1) AS http_pages_per_s,
		       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pgx / http)::numeric, 2) AS \"http x pgx\",
		       string_agg(round((pgx / http)::numeric, 2)::text, ' ' ORDER BY round) AS per_round,
		       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY token / 1000)::numeric) AS token_check_us,
		       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY token / http * 100)::numeric, 1) AS \"token check % of a page\"
		FROM r"
	echo "== authlog-api: targeted-accounts over 10,000 events, 8 concurrent clients (medians of the rounds' percentiles)"
	psql -X -P footer=off -c "
		SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FILTER (WHERE name = 'InvestigationLatency p50-ms')::numeric, 1) AS p50_ms,
		       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FILTER (WHERE name = 'InvestigationLatency p99-ms')::numeric, 1) AS p99_ms
		FROM bench.results WHERE section = 'api'"
}

# BENCH_ONLY: a comma-separated list of sections to run (the mirror's needs write, retention seal)
for section in write partitions seal retention retire_whole decode memory investigate mirror api; do
	case ",${BENCH_ONLY:-write,partitions,seal,retention,retire_whole,decode,memory,investigate,mirror,api}," in
	*",$section,"*) "section_$section" ;;
	esac
done

# Issue 22's figures, from what this run measured: each a ratio within this
# run (the median of its rounds, with the rounds' spread), or the realistic
# mix's p99 lag; a row whose section did not run is left out.
echo
echo "== the stream's figures (issue 22), this run"
psql -X -P footer=off -c "
	WITH ratio(what, num_section, num_name, den_section, den_name, clients, sync, first_bar, aim) AS (VALUES
		('mirror catch-up x raw libmongoc inserts', 'mirror', 'authlog mirror catch-up', 'mirror', 'raw libmongoc ordered bulk insert', 0, '', 0.85, 0.95),
		('decoder x pgoutput, same WAL, peeked (the peek spills its output to a file)', 'decode', 'authlog (bson)', 'decode', 'pgoutput', 0, '', 0.8, 1.0),
		('decoder x pgoutput, same WAL, peeked in memory', 'decode in memory', 'authlog (bson)', 'decode in memory', 'pgoutput', 0, '', 0.8, 1.0),
		('decoder x pgoutput, same WAL, streamed (pg_recvlogical)', 'decode streamed', 'authlog (bson)', 'decode streamed', 'pgoutput', 0, '', 0.8, 1.0),
		('record_login failure x bare INSERT, 8 clients, sync off', 'write', 'record_login failure', 'write', 'bare INSERT', 8, 'off', 0.65, 0.8)),
	-- callgrind's counts (section instructions), one invocation: rounds are not repeated;
	-- inverted: a speed ratio from costs (den / num), as the timed decoder ratio reads
	counts(what, num_name, den_name, first_bar, aim, inverted) AS (VALUES
		('sealer instructions per sealed event x ' || (SELECT substr(name, length('sealer per event, baseline ') + 1)
		                                              FROM bench.results WHERE name LIKE 'sealer per event, baseline %'),
		 'sealer per event', 'sealer per event, baseline %', 0.5, 0.25, false),
		('record_login instructions per new account''s failure x bare INSERT per row (callgrind)',
		 'record_login failure per call, new accounts', 'bare INSERT per row', NULL, NULL, false),
		('record_login instructions per known account''s failure x bare INSERT per row (callgrind)',
		 'record_login failure per call, known accounts', 'bare INSERT per row', NULL, NULL, false),
		('decoder x pgoutput, same WAL, by instructions (pgoutput''s per row / the decoder''s, callgrind)',
		 'decoder per row', 'pgoutput per row', 0.8, 1.0, true)),
	rounds AS (
		SELECT r.what, n.round, n.value / d.value AS x, r.first_bar, r.aim
		FROM ratio r
		JOIN bench.results n ON n.section = r.num_section AND n.name = r.num_name AND n.clients = r.clients AND n.sync = r.sync
		JOIN bench.results d ON d.section = r.den_section AND d.name = r.den_name AND d.clients = r.clients AND d.sync = r.sync
		                    AND d.round = n.round)
	SELECT what, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 2)::text || 'x' AS this_build,
	       string_agg(round(x::numeric, 2)::text, ' ' ORDER BY round) AS rounds,
	       first_bar::text || 'x' AS first_bar, aim::text || 'x' AS aim
	FROM rounds GROUP BY what, first_bar, aim
	UNION ALL
	SELECT c.what, round((CASE WHEN c.inverted THEN d.value / n.value ELSE n.value / d.value END)::numeric, 3)::text || 'x',
	       round(n.value)::text || ' / ' || round(d.value)::text || ' (one invocation)',
	       c.first_bar::text || 'x', c.aim::text || 'x'
	FROM counts c
	JOIN bench.results n ON n.section = 'instructions' AND n.name = c.num_name
	JOIN bench.results d ON d.section = 'instructions' AND d.name LIKE c.den_name
	UNION ALL
	SELECT 'mirror lag p99, realistic mix at ' || clients || ' logins/s', round((1000 * value)::numeric)::text || ' ms',
	       '(300 probes; p50 ' || (SELECT round((1000 * p.value)::numeric) FROM bench.results p
	                                WHERE p.section = 'lag mix' AND p.name = 'p50 seconds') || ' ms)',
	       '< 250 ms', '< 100 ms'
	FROM bench.results WHERE section = 'lag mix' AND name = 'p99 seconds'
	ORDER BY 1"

psql -XA -F ',' -P footer=off -c "SELECT section, name, clients, sync, round, value FROM bench.results ORDER BY section, name, clients, sync, round" \
	> "$results/bench-$stamp.csv"
echo
echo "== raw results: $results/bench-$stamp.csv"
