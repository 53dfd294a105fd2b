#!/usr/bin/env bash
# Where record_login's instructions go, for the installed build, counted by
# callgrind: one backend runs N failures of new accounts in one statement,
# another inserts the same N rows into bench.bare_logs (same columns and
# indexes as auth_logs) in one INSERT; prints each backend's instructions
# per row, then record_login's costliest functions, inclusive and
# exclusive (callgrind_annotate).  Counts do not move with the machine's
# noise; a backend's start-up is in both totals.  Run as root (the server
# runs as postgres) or as the user that owns the tree.
#
#   bench/record_instructions.sh [N]      (default 2000)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2000}
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=$(pg_config --bindir)
d=$(mktemp -d /tmp/authlog-callgrind.XXXXXX)
chown postgres "$d" 2>/dev/null || true
port=$(. "$top/test/lib.sh"; lib_free_port)
cd "$top"
q() { as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$d/cl" -p "$port" postgres "$@"; }
as_postgres bash test/cluster.sh start "$d/cl" "$port" "authlog.seal_interval = 0" >/dev/null
q -c 'CREATE EXTENSION authlog' >/dev/null
q -f bench/setup.sql >/dev/null 2>&1
as_postgres "$bindir/pg_ctl" -D "$d/cl/data" -m fast -w stop >/dev/null
as_postgres bash -c "valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=$d/cg.%p \
	$bindir/postgres -D $d/cl/data >$d/server.log 2>&1 &"
for _ in $(seq 1 300); do
	q -c 'SELECT 1' >/dev/null 2>&1 && break
	sleep 1
done
q >/dev/null <<SQL
SELECT pg_backend_pid() \g $d/record.pid
SELECT count(authlog.record_login('tenant' || (n % 100), 'org1', 'user' || n, false, '203.0.113.7',
	'Mozilla/5.0', 'web', '{"device": "bench"}')) FROM generate_series(1, $n) n;
SQL
q >/dev/null <<SQL
SELECT pg_backend_pid() \g $d/bare.pid
INSERT INTO bench.bare_logs (tenant_id, log_id, organisation_id, user_id, event_type, ip_address,
	user_agent, auth_path, occurred_at, recorded_at, metadata, decision, failed_login_attempts)
SELECT 'tenant' || (n % 100), gen_random_uuid(), 'org1', 'user' || n, 'login_failed', '203.0.113.7',
	'Mozilla/5.0', 'web', now(), now(), '{"device": "bench"}', 'failed', 1 FROM generate_series(1, $n) n;
SQL
as_postgres "$bindir/pg_ctl" -D "$d/cl/data" -m fast -w -t 600 stop >/dev/null
for which in record bare; do
	pid=$(cat "$d/$which.pid")
	total=$(awk '/^totals:/ { print $2 }' "$d/cg.$pid")
	echo "$which: $total instructions, $(( total / n )) per row"
	# a forked child's summary line is its parent's at the fork: its totals instead
	sed "s/^summary:.*/summary: $total/" "$d/cg.$pid" >"$d/$which.cg"
done
echo "== record_login, inclusive"
callgrind_annotate --inclusive=yes --threshold=99 "$d/record.cg" 2>/dev/null |
	sed -n '/file:function/,$p' | sed -n '3,$p' | grep -v 'below main\|libc-start\|ld-linux' | head -45
echo "== record_login, exclusive"
callgrind_annotate --threshold=99 "$d/record.cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,22p'
rm -rf "$d" 2>/dev/null || true
