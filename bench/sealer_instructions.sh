#!/usr/bin/env bash
# Instructions the sealer spends per sealed event, for the installed build,
# counted by callgrind (counts do not move with the machine's noise): the
# whole server runs under valgrind --tool=callgrind, a run seals N1 events
# and another N2 (rows as record_login writes them, bench/events.sql, one
# seal_now each), and the difference of the sealer process's totals over
# N2 - N1 is the cost of one more event, start-up and idle loops cancelled
# out.  To compare two builds, install each and run this after it.  Run as
# root (the server runs as postgres) or as the user that owns the tree.
#
#   bench/sealer_instructions.sh [N1 [N2]]      (default 1000 11000)
#
# PROFILE=1 also prints the sealer's costliest functions of the N2 run
# (callgrind_annotate, exclusive then inclusive instructions); KEEP=FILE
# keeps that run's callgrind file there (callgrind_annotate --tree=caller).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n1=${1:-1000}
n2=${2:-11000}
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=$(pg_config --bindir)

run() {
	local n=$1 d port pid sealed ir
	d=$(mktemp -d /tmp/authlog-callgrind.XXXXXX)
	port=$(. "$top/test/lib.sh"; lib_free_port)
	chown postgres "$d" 2>/dev/null || true
	cd "$top"
	as_postgres bash test/cluster.sh start "$d/cl" "$port" "authlog.seal_interval = '1h'" \
		"authlog.seal_verify_interval = 0" >/dev/null
	as_postgres "$bindir/pg_ctl" -D "$d/cl/data" -m fast -w stop >/dev/null
	as_postgres bash -c "valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=$d/cg.%p \
		$bindir/postgres -D $d/cl/data >$d/server.log 2>&1 &"
	for _ in $(seq 1 300); do
		as_postgres psql -X -h "$d/cl" -p "$port" -c 'SELECT 1' postgres >/dev/null 2>&1 && break
		sleep 1
	done
	q() { as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$d/cl" -p "$port" postgres "$@"; }
	q -c 'CREATE EXTENSION authlog' -c 'CREATE SCHEMA bench' >/dev/null
	q -f bench/events.sql >/dev/null
	q -c "SELECT authlog.seal_now('600s')" >/dev/null
	pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'authlog sealer'")
	q -c "CALL bench.generate_events($(( n / 1000 )), 1000)" >/dev/null
	q -c "SELECT authlog.seal_now('1200s')" >/dev/null
	sealed=$(q -c 'SELECT events_sealed FROM authlog.sealer_status()')
	as_postgres "$bindir/pg_ctl" -D "$d/cl/data" -m fast -w -t 600 stop >/dev/null
	# a forked child's file: "totals" is its own count ("summary" is the parent's at the fork)
	ir=$(awk '/^totals:/ { s += $2 } END { print s }' "$d/cg.$pid")
	if [ "${PROFILE:-0}" = 1 ] && [ "$n" = "$n2" ]; then
		# the child's summary line is its parent's at the fork: its totals instead
		sed "s/^summary:.*/summary: $(awk '/^totals:/ { print $2 }' "$d/cg.$pid")/" "$d/cg.$pid" >"$d/cg.sealer"
		callgrind_annotate --threshold=99 "$d/cg.sealer" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,27p' >&2
		echo "== inclusive" >&2
		callgrind_annotate --inclusive=yes --threshold=99 "$d/cg.sealer" 2>/dev/null |
			sed -n '/file:function/,$p' | sed -n '3,$p' | grep -v 'below main\|libc-start\|ld-linux' | head -45 >&2
	fi
	sleep 1
	[ -n "${KEEP:-}" ] && [ "$n" = "$n2" ] && cp "$d/cg.$pid" "$KEEP"
	rm -rf "$d" 2>/dev/null || true
	echo "$n $sealed $ir"
}

a=$(run "$n1")
b=$(run "$n2")
echo "events, sealed, sealer instructions: $a / $b"
echo "$a $b" | awk '{ printf "instructions per sealed event: %.0f\n", ($6 - $3) / ($5 - $2) }'
