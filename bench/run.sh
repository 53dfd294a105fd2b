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
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "${1:-}" != "--run" ]; then
	make -s
	make -s install
	mkdir -p bench/results
	if [ "$(id -u)" = 0 ]; then
		work=$(mktemp -d /tmp/authlog-bench.XXXXXX)
		cp -r bench test "$work/"
		chown -R postgres: "$work"
		runuser -u postgres -- env BENCH_SECONDS="${BENCH_SECONDS:-}" BENCH_ROUNDS="${BENCH_ROUNDS:-}" \
			BENCH_DECODE_ROWS="${BENCH_DECODE_ROWS:-}" BENCH_BIG_ROWS="${BENCH_BIG_ROWS:-}" \
			bash "$work/bench/run.sh" --run
		cp "$work"/bench/results/* bench/results/
		rm -rf "$work"
		exit 0
	fi
	exec bash bench/run.sh --run
fi

seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
decode_rows=${BENCH_DECODE_ROWS:-500000}
big_rows=${BENCH_BIG_ROWS:-1000000}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=bench/results

cluster=$(mktemp -d /tmp/authlog-bench-cluster.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
bash test/cluster.sh start "$cluster" "$port" \
	"fsync = on" "shared_buffers = '1GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '30min'" \
	"max_connections = 100" "max_replication_slots = 20"
trap 'bash test/cluster.sh stop "$cluster"; rm -rf "$cluster"' EXIT
export PGHOST=$cluster PGPORT=$port PGUSER=postgres PGDATABASE=postgres
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_q -f bench/setup.sql >/dev/null
psql_q -c "CREATE TABLE bench.results (section text, name text, clients int, sync text, round int, value float8)"

echo "== cluster: $(psql -XAtc 'SELECT version()')"
psql -XAt -F ' = ' -c "SELECT name, setting || coalesce(unit, '') FROM pg_settings
	WHERE name IN ('shared_buffers', 'fsync', 'wal_level', 'max_wal_size', 'logical_decoding_work_mem', 'max_connections')
	ORDER BY name" | sed 's/^/   /'
echo "   cpus = $(nproc), pgbench -T $seconds -M prepared, $rounds rounds, medians"

# name|script|clients|synchronous_commit|baseline name
cases=(
	"bare INSERT|bare_insert.sql|1|off|"
	"record_login failure|record_failure.sql|1|off|bare INSERT"
	"PL/pgSQL failure|plpgsql_failure.sql|1|off|bare INSERT"
	"bare INSERT|bare_insert.sql|8|off|"
	"record_login failure|record_failure.sql|8|off|bare INSERT"
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
			sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')
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

# ---- decoding -------------------------------------------------------------
echo
echo "== decoding: $decode_rows auth_logs rows in 1,000-row transactions, peeked by each plugin"
psql_q -f bench/decode_setup.sql >/dev/null
psql_q -c "CALL bench.generate_events($(( decode_rows / 1000 )), 1000)"
plugins=(
	"authlog (bson)|true|bench_authlog|"
	"wal2json format 2|false|bench_wal2json|'format-version', '2'"
	"test_decoding|false|bench_test_decoding|'skip-empty-xacts', '1'"
	"pgoutput|true|bench_pgoutput|'proto_version', '1', 'publication_names', 'bench_tables'"
	"decode floor (pgoutput, empty publication)|true|bench_floor|'proto_version', '1', 'publication_names', 'bench_nothing'"
)
for round in $(seq 1 "$rounds"); do
	for p in "${plugins[@]}"; do
		IFS='|' read -r name binary slot options <<<"$p"
		[ -n "$options" ] || options="VARIADIC '{}'::text[]"
		psql_q -c "INSERT INTO bench.results SELECT 'decode', '$name', 0, '', $round,
			$decode_rows / bench.decode_seconds('$slot', $binary, $options)"
	done
done
psql -X -P footer=off -c "
	WITH m AS (
		SELECT name, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS rows_per_s
		FROM bench.results WHERE section = 'decode' GROUP BY 1)
	SELECT m.name AS plugin, round(m.rows_per_s::numeric) AS rows_per_second,
	       round((m.rows_per_s / w.rows_per_s)::numeric, 2) AS \"x wal2json\",
	       round((m.rows_per_s / p.rows_per_s)::numeric, 2) AS \"x pgoutput\"
	FROM m, m w, m p
	WHERE w.name = 'wal2json format 2' AND p.name = 'pgoutput'
	ORDER BY m.rows_per_s DESC"
for s in bench_authlog bench_wal2json bench_test_decoding bench_pgoutput bench_floor; do
	psql_q -c "SELECT pg_drop_replication_slot('$s')" >/dev/null
done

# ---- memory of a large transaction ----------------------------------------
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

psql -XA -F ',' -P footer=off -c "SELECT section, name, clients, sync, round, value FROM bench.results ORDER BY section, name, clients, sync, round" \
	> "$results/bench-$stamp.csv"
echo
echo "== raw results: $results/bench-$stamp.csv"
