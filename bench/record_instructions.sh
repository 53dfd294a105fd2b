#!/usr/bin/env bash
# Where record_login's instructions go, for the installed build, counted by
# callgrind: one backend runs N failures of new accounts in one statement,
# another N more failures of the same accounts (each with its row and its
# organisation now: the common case of a deployment), another inserts the
# same N rows into bench.bare_logs (same columns and indexes as auth_logs)
# in one INSERT; prints each backend's instructions per row, then the new
# accounts' record_login's costliest functions, inclusive and exclusive
# (callgrind_annotate).  Counts do not move with the machine's
# noise; a backend's start-up is in both totals.  Run as root (the server
# runs as postgres) or as the user that owns the tree.
#
#   bench/record_instructions.sh [N]      (default 2000)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2000}
. "$top/bench/callgrind.sh"
cd "$top"
callgrind_begin "authlog.seal_interval = 0"
d=$cg_dir
q() { cg_q "$@"; }
q -f bench/setup.sql >/dev/null 2>&1
q >/dev/null <<SQL
SELECT pg_backend_pid() \g $d/record.pid
SELECT count(authlog.record_login('tenant' || (n % 100), 'org1', 'user' || n, false, '203.0.113.7',
	'Mozilla/5.0', 'web', '{"device": "bench"}')) FROM generate_series(1, $n) n;
SQL
q >/dev/null <<SQL
SELECT pg_backend_pid() \g $d/known.pid
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
callgrind_stop "$d"
for which in record known bare; do
	total=$(callgrind_totals "$d/cg.$(cat "$d/$which.pid")")
	echo "$which: $total instructions, $(( total / n )) per row"
done
echo "== record_login"
callgrind_profile "$d/cg.$(cat "$d/record.pid")" 20 45
rm -rf "$d" 2>/dev/null || true
