#!/usr/bin/env bash
# The monitoring end to end (make test-long): a real Prometheus scrapes
# authlog-api's /metrics every second and evaluates monitoring/alerts.yml
# while the demo's campaign runs (test/demo_campaign.sql).  Passes when
#   - exactly the expected alerts fire: brute force (acme/finance), credential
#     stuffing (acme, 203.0.113.0/24), success after failures (acme/hq), and
#     no other rule is firing or pending;
#   - every counter Prometheus holds equals a recount of auth_logs;
#   - after an API restart the counters go on from the same values: no reset
#     in any series (so rate() and increase() stay right), values still the
#     recount;
#   - the Grafana dashboard's queries are valid PromQL.
# Runs as a user PostgreSQL accepts (run-tests.sh runs it as postgres).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib.sh

dir=$(mktemp -d /tmp/authlog-monitoring.XXXXXX)
pgport=$(lib_free_port)
bash test/cluster.sh start "$dir/pg" "$pgport" "authlog.seal_interval = '2s'"
LIB_API_PID=
LIB_PROM_PID=
trap 'for pid in $LIB_PROM_PID $LIB_API_PID; do kill "$pid" 2>/dev/null || true; done
      bash test/cluster.sh stop "$dir/pg"; rm -rf "$dir"' EXIT
sql() { psql -X -qAt -h "$dir/pg" -p "$pgport" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
fail() { echo "not ok - $*"; echo "--- alerts:"; curl -s "$LIB_PROM/api/v1/alerts" | jq -c '.data.alerts[]' || true; exit 1; }
ok() { echo "ok - $*"; }
query() {	# an instant PromQL query: "labels value" lines, sorted
	curl -sf --get "$LIB_PROM/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[] | "\(.metric | del(.__name__, .instance, .job) | to_entries
		       | map("\(.key)=\(.value)") | join(","))  \(.value[1])"' | sort
}

metrics_port=$(lib_free_port)
lib_start_api "$dir" "$dir/pg" "$pgport" -metrics-listen "127.0.0.1:$metrics_port"
lib_start_prometheus "$dir/prometheus" "127.0.0.1:$metrics_port"
# Prometheus scraping before the campaign begins: its quiet start (the
# benign traffic, then 10 paces) gives every series its zeros first
for _ in $(seq 1 50); do
	[ "$(query 'up{job="authlog"} == 1')" != "" ] && break
	sleep 0.2
done
sql -v pace=0.5 -f test/demo_campaign.sql >/dev/null

expected="AuthlogBruteForce organisation=finance tenant=acme
AuthlogCredentialStuffing network=203.0.113.0/24 tenant=acme
AuthlogSuccessAfterFailures organisation=hq tenant=acme"
for _ in $(seq 1 60); do
	[ "$(lib_firing_alerts)" = "$expected" ] && break
	sleep 1
done
[ "$(lib_firing_alerts)" = "$expected" ] || fail "the firing alerts: $(lib_firing_alerts)"
ok "the campaign fires brute force, credential stuffing and success after failures"
others=$(curl -sf "$LIB_PROM/api/v1/alerts" | jq -r '.data.alerts[] | select(.state != "firing") | .labels.alertname')
[ -z "$others" ] || fail "alerts pending: $others"
ok "no other rule is firing or pending (password spraying, lockout surge, pipeline, integrity)"

# the counters against a recount, once a scrape has seen the last event
recount() {
	sql -c "SELECT 'event_type=' || event_type || ',organisation=' || organisation_id || ',tenant=' || tenant_id
	               || '  ' || count(*) FROM authlog.auth_logs GROUP BY tenant_id, organisation_id, event_type" | sort
}
same_as_recount() {
	local want got
	want=$(recount)
	for _ in $(seq 1 20); do
		got=$(query 'authlog_events_total > 0')
		[ "$got" = "$want" ] && return 0
		sleep 0.5
	done
	diff <(echo "$want") <(echo "$got") || true
	return 1
}
same_as_recount || fail "authlog_events_total differs from a recount of auth_logs"
ok "authlog_events_total equals a recount of auth_logs ($(recount | wc -l) series)"
decisions=$(sql -c "SELECT 'decision=' || decision || ',organisation=' || organisation_id || ',tenant=' || tenant_id
                    || '  ' || count(*) FROM authlog.auth_logs WHERE decision IS NOT NULL
                    GROUP BY tenant_id, organisation_id, decision" | sort)
[ "$(query 'authlog_login_decisions_total > 0')" = "$decisions" ] ||
	fail "authlog_login_decisions_total differs from a recount: $(query 'authlog_login_decisions_total > 0')"
ok "authlog_login_decisions_total equals a recount"

# restart the API: the counters live in PostgreSQL, so they go on
kill "$LIB_API_PID"
wait "$LIB_API_PID" 2>/dev/null || true
sleep 2
lib_serve_api "$dir" "$dir/pg" "$pgport" -metrics-listen "127.0.0.1:$metrics_port"
sql -c "SELECT count(authlog.record_login('acme', 'hq', 'employee' || n, n % 2 = 0, '10.0.0.1', 'ua', 'web'))
        FROM generate_series(1, 6) n" >/dev/null
same_as_recount || fail "after the API restart, authlog_events_total differs from a recount"
ok "after an API restart the counters are the recount, events written since included"
sleep 2
resets=$(query 'resets(authlog_events_total[5m]) > 0 or resets(authlog_login_decisions_total[5m]) > 0')
[ -z "$resets" ] || fail "series reset across the API restart: $resets"
ok "no series reset across the restart: rate() and increase() stay right"
# the Grafana dashboard's queries (it is not rendered here) are valid PromQL
while read -r expr; do
	status=$(curl -s --get "$LIB_PROM/api/v1/query" --data-urlencode "query=${expr//\$tenant/.*}" | jq -r .status)
	[ "$status" = success ] || fail "monitoring/grafana-dashboard.json: Prometheus refuses $expr"
done < <(jq -r '.. | .expr? // empty' monitoring/grafana-dashboard.json)
ok "every query of the Grafana dashboard is valid PromQL"
echo "# monitoring end to end: passed"
