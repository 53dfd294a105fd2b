#!/usr/bin/env bash
# The decoder's instructions per decoded row, for the installed build,
# against pgoutput's on the same WAL, counted by callgrind (counts do not
# move with the machine's noise, which make bench's decode ratio does: its
# rounds spread over a fifth).  N auth_logs rows (bench/events.sql, 1,000 a
# transaction) are decoded once by each plugin, each in a backend of its own
# that peeks its slot twice: the difference between the two peeks' counts is
# the decoding, start-up and the backend's first catalog reads cancelled
# out.  Then the decoding backend's costliest functions (callgrind_annotate).
# Run as root (the server runs as postgres) or as the user that owns the tree.
#
#   bench/decode_instructions.sh [N]      (default 20000)
#
# BASELINE=REV counts that commit first, built in a worktree and installed,
# then this tree, installed again: both builds in one invocation.  PROFILE=1
# prints the decoding backend's costliest functions; KEEP=FILE keeps its
# callgrind file (callgrind_annotate --tree=caller).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20000}
. "$top/bench/callgrind.sh"

run() {
	local d
	cd "$top"
	callgrind_begin "authlog.seal_interval = 0" "authlog.mirror_uri = ''"
	d=$cg_dir
	q() { cg_q "$@"; }
	q -c 'CREATE SCHEMA bench' >/dev/null
	q >/dev/null <<SQL
CREATE PUBLICATION bench_tables FOR TABLE authlog.auth_logs;
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_authlog', 'authlog');
SELECT 'slot' FROM pg_create_logical_replication_slot('bench_pgoutput', 'pgoutput');
SQL
	q -f bench/events.sql >/dev/null
	q -c "CALL bench.generate_events($(( n / 1000 )), 1000)" >/dev/null
	# per plugin, one backend peeks its slot once and another twice: the
	# difference is one decoding of the N rows, each backend's start-up and
	# first catalog reads cancelled out
	for p in "bench_authlog" "bench_pgoutput , 'proto_version', '1', 'publication_names', 'bench_tables'"; do
		set -- $p
		local slot=$1
		shift
		local peek="SELECT count(*) FROM pg_logical_slot_peek_binary_changes('$slot', NULL, NULL $*)"
		printf 'SELECT pg_backend_pid() \\g %s\n%s;\n' "$d/$slot.pid" "$peek" | q >/dev/null
		printf 'SELECT pg_backend_pid() \\g %s\n%s;\n%s;\n' "$d/$slot.twice.pid" "$peek" "$peek" | q >/dev/null
	done
	callgrind_stop "$d"
	for slot in bench_authlog bench_pgoutput; do
		local once twice
		once=$(callgrind_totals "$d/cg.$(cat "$d/$slot.pid")")
		twice=$(callgrind_totals "$d/cg.$(cat "$d/$slot.twice.pid")")
		echo "$slot $(( (twice - once) / n ))"
	done
	if [ "${PROFILE:-0}" = 1 ]; then
		callgrind_profile "$d/cg.$(cat "$d/bench_authlog.twice.pid")" 25 40 >&2
	fi
	if [ -n "${KEEP:-}" ]; then cp "$d/cg.$(cat "$d/bench_authlog.twice.pid")" "$KEEP"; fi
	sleep 1
	rm -rf "$d" 2>/dev/null || true
}

# ratio: "authlog N pgoutput M" of the installed build
ratio() {
	local out authlog pgoutput
	out=$(run)
	authlog=$(awk '$1 == "bench_authlog" { print $2 }' <<<"$out")
	pgoutput=$(awk '$1 == "bench_pgoutput" { print $2 }' <<<"$out")
	echo "$authlog $pgoutput"
}

if [ -n "${BASELINE:-}" ]; then
	read -r base_authlog base_pgoutput < <(callgrind_on_baseline "$BASELINE" ratio)
	read -r this_authlog this_pgoutput < <(ratio)
	echo "instructions per decoded row: $BASELINE authlog $base_authlog (pgoutput $base_pgoutput), this tree authlog $this_authlog (pgoutput $this_pgoutput)"
	awk -v a="$this_authlog" -v b="$base_authlog" -v p="$this_pgoutput" \
		'BEGIN { printf "this tree x %s: %.3fx; pgoutput x authlog, this tree: %.3fx\n", ENVIRON["BASELINE"], a / b, p / a }'
else
	read -r this_authlog this_pgoutput < <(ratio)
	echo "instructions per decoded row: authlog $this_authlog, pgoutput $this_pgoutput"
	awk -v a="$this_authlog" -v p="$this_pgoutput" 'BEGIN { printf "pgoutput x authlog (the decode ratio, by instructions): %.3fx\n", p / a }'
fi
