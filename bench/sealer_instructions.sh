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
# BASELINE=REV measures that commit first, built in a worktree and
# installed, then this tree, installed again, and prints the ratio: both
# builds in one invocation.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n1=${1:-1000}
n2=${2:-11000}
. "$top/bench/callgrind.sh"

run() {
	local n=$1 d pid sealed ir
	cd "$top"
	callgrind_begin "authlog.seal_interval = '1h'" "authlog.seal_verify_interval = 0"
	d=$cg_dir
	q() { cg_q "$@"; }
	q -c 'CREATE SCHEMA bench' >/dev/null
	q -f bench/events.sql >/dev/null
	q -c "SELECT authlog.seal_now('600s')" >/dev/null
	pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'authlog sealer'")
	q -c "CALL bench.generate_events($(( n / 1000 )), 1000)" >/dev/null
	q -c "SELECT authlog.seal_now('1200s')" >/dev/null
	sealed=$(q -c 'SELECT events_sealed FROM authlog.sealer_status()')
	callgrind_stop "$d"
	ir=$(callgrind_totals "$d/cg.$pid")
	if [ "$n" = "$n2" ]; then
		if [ "${PROFILE:-0}" = 1 ]; then callgrind_profile "$d/cg.$pid" 25 45 >&2; fi
		if [ -n "${KEEP:-}" ]; then cp "$d/cg.$pid" "$KEEP"; fi
	fi
	sleep 1
	rm -rf "$d" 2>/dev/null || true
	echo "$n $sealed $ir"
}

# per_event: instructions per sealed event of the installed build
per_event() {
	local a b
	a=$(run "$n1")
	b=$(run "$n2")
	echo "events, sealed, sealer instructions: $a / $b" >&2
	echo "$a $b" | awk '{ printf "%.0f\n", ($6 - $3) / ($5 - $2) }'
}

if [ -n "${BASELINE:-}" ]; then
	base=$(callgrind_on_baseline "$BASELINE" per_event)
	this=$(per_event)
	echo "instructions per sealed event: $BASELINE $base, this tree $this" \
		"($(awk -v a="$this" -v b="$base" 'BEGIN { printf "%.3f", a / b }')x)"
else
	echo "instructions per sealed event: $(per_event)"
fi
