#!/usr/bin/env bash
# make demo: build and install authlog, start a throwaway cluster and a
# FerretDB store, authlog-api and a Prometheus scraping it every second,
# replay a small brute-force and credential-stuffing campaign over about
# 30 s, and print the alerts it fired and what a security analyst would ask
# of it, from PostgreSQL and from the mirrored document store.  On a terminal the
# cluster and the store stay up until Ctrl-C; without one (CI) the demo
# prints its report, stops everything it started and exits 0.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib.sh

if [ "${1:-}" != "--run" ]; then
	make -s prepare
	bash test/hydra.sh build
	store=$(mktemp -d /tmp/authlog-demo-store.XXXXXX)
	store_port=$(lib_free_port)
	bash test/ferretdb.sh start "$store" "$store_port"
	trap 'bash test/ferretdb.sh stop "$store"; rm -rf "$store"' EXIT
	if [ "$(id -u)" = 0 ]; then
		lib_rerun_as_postgres authlog-demo test/demo.sh --run "$store_port"
		rm -rf "$LIB_WORK"
		exit "$LIB_RC"
	fi
	bash test/demo.sh --run "$store_port"
	exit
fi

store_port=$2
cluster=$(mktemp -d /tmp/authlog-demo-cluster.XXXXXX)
port=$(lib_free_port)
bash test/cluster.sh start "$cluster" "$port" \
	"authlog.mirror_uri = 'mongodb://127.0.0.1:$store_port/'" "authlog.mirror_idle_advance = '1s'"
LIB_API_PID=
LIB_PROM_PID=
LIB_HYDRA_PIDS=
trap 'for pid in $LIB_PROM_PID $LIB_API_PID $LIB_HYDRA_PIDS; do kill "$pid" 2>/dev/null; done; bash test/cluster.sh stop "$cluster"; rm -rf "$cluster"' EXIT

# authlog-api over the cluster, before the campaign: keys made now, the
# identity provider's public half registered by the superuser, the
# operator's evidence key (auditors get its public half)
# the admin console signs people in through a real OIDC provider (Hydra,
# whose login page offers the demo's people: test/console_personas.json)
lib_start_hydra "$cluster" "$cluster" "$port"
LIB_API_PORT=$(lib_free_port)
lib_console_client "http://127.0.0.1:$LIB_API_PORT" "$cluster/console.secret"
metrics_port=$(lib_free_port)
lib_start_api "$cluster" "$cluster" "$port" -metrics-listen "127.0.0.1:$metrics_port" "${LIB_CONSOLE_FLAGS[@]}"
lib_trust_hydra "$cluster" "$port"
api=$LIB_API
# the security dashboard's Prometheus, with authlog's alerting rules
lib_start_prometheus "$cluster/prometheus" "127.0.0.1:$metrics_port"

psql -X -q -P pager=off -h "$cluster" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
	-v pace=0.7 -f test/demo.sql

echo
echo "== The alerts Prometheus fired for the campaign ($LIB_PROM/alerts; rules: monitoring/alerts.yml, runbooks: doc/monitoring.md):"
for _ in $(seq 1 30); do
	firing=$(lib_firing_alerts)
	grep -q AuthlogBruteForce <<<"$firing" && grep -q AuthlogCredentialStuffing <<<"$firing" &&
		grep -q AuthlogSuccessAfterFailures <<<"$firing" && break
	sleep 1
done
sed 's/^/   /' <<<"$firing"
echo "   (and the figures they read, from $api's loopback /metrics:)"
curl -s "http://127.0.0.1:$metrics_port/metrics" |
	grep -E '^authlog_(locked_refusals_total|success_after_failures_total|attack_network_accounts)\{.*tenant="acme"' |
	grep -v ' 0$' | sed 's/^/   /' || true

# the security team's token: acme, every organisation, reader + help desk + compliance
TOKEN=$(lib_token "$cluster" '"sub":"analyst@acme","tenant":"acme","roles":["reader","helpdesk","compliance"]')
export TOKEN
since=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
until=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
# each line as a reader types it, then what it answered (cut short here;
# a jq filter may follow the line count)
try() {
	echo
	echo "\$ $1"
	eval "$1" | jq ${3:-.} 2>/dev/null | head -n "${2:-20}" || true
}
echo
echo "======== The same campaign through authlog-api ($api), as acme's security team ========"
echo "   export TOKEN=$TOKEN"
try "curl -s -H \"Authorization: Bearer \$TOKEN\" '$api/v1/investigation/attacking-sources?since=$since&until=$until&min_failures=5'" 24
try "curl -s -H \"Authorization: Bearer \$TOKEN\" '$api/v1/events?limit=2&user=treasurer&format=ocsf'" 30
echo "   (follow \"next\" to poll: without until it never ends, and skips nothing)"
try "curl -s -H \"Authorization: Bearer \$TOKEN\" '$api/v1/accounts/treasurer/lockout'" 12
try "curl -s -H \"Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/json' -H 'Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)' -d '{\"organisation_id\": \"finance\", \"reason\": \"ticket 4712: identity verified by phone\"}' '$api/v1/accounts/treasurer/unlock'" 14
try "curl -s -H \"Authorization: Bearer \$TOKEN\" '$api/v1/investigation/compliance-report?since=$since&until=$until'" 16
try "curl -s -H \"Authorization: Bearer \$TOKEN\" '$api/v1/seals/verification?copy=store'" 14
echo "   (who read what: every read above is in the access log, for the tenant's compliance role)"
try "curl -s -H \"Authorization: Bearer \$TOKEN\" '$api/v1/access-log?since=$since&until=$until'" 12 \
	"-c .rows[]|{accessed_at,subject,request_id,function_name,row_count}"
try "curl -s -H 'Authorization: Bearer not-a-token' '$api/v1/events'" 10
echo
echo "== The auditor's evidence package: fetched, then checked offline (by authlog-api, and by sha256sum and openssl alone)"
export PATH="$top/build/bin:$PATH"
run() {
	echo
	echo "\$ $1"
	(cd "$cluster" && eval "$1") 2>&1 | head -n 12 || true
}
run "curl -s -H \"Authorization: Bearer \$TOKEN\" -o evidence.tar.gz '$api/v1/evidence?since=$since&until=$until' && tar -tzf evidence.tar.gz"
run "authlog-api verify-package -key evidence.pub evidence.tar.gz"
run "mkdir -p evidence && tar -xzf evidence.tar.gz -C evidence && cd evidence && sha256sum -c SHA256SUMS && openssl pkeyutl -verify -pubin -inkey ../evidence.pub -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig"

echo
echo "== The admin console: $api/console/"
# signed in as a browser would be (curl keeps the cookies): through Hydra
# and its login page, as the security team
jar=$cluster/console.cookies
landed=$(curl -s -L -c "$jar" -b "$jar" -o "$cluster/login.html" -w '%{url_effective}' "$api/console/incident")
challenge=$(grep -o 'name="login_challenge" value="[^"]*"' "$cluster/login.html" | sed 's/.*value="//; s/"$//')
curl -s -L -c "$jar" -b "$jar" -o /dev/null --data-urlencode "login_challenge=$challenge" \
	-d persona=security "${landed%%/login*}/login"
curl -s -b "$jar" "$api/console/incident?range=15m" >"$cluster/incident.html"
echo "   Signed in as the security team (curl, as a browser): the incident page shows" \
	"$(grep -c "\">network</td>\|\">address</td>\|<td>network</td>\|<td>address</td>" "$cluster/incident.html") attacking sources" \
	"and $(grep -o 'Likely compromises ([0-9]*)' "$cluster/incident.html" | grep -o '[0-9]*') likely compromise(s)."
echo "   Sign in on the test identity provider's page as \"Acme security team\" (incident, accounts,"
echo "   unlock, evidence) or \"Acme finance help desk\" (finance's accounts only, and their unlock)."
echo "   make test-long walks it in Chromium and saves its pages under test/output/console/."
if [ -t 0 ]; then
	echo
	echo "== The cluster and the store stay up until Ctrl-C. Look around:"
	echo "   psql -h $cluster -p $port -U postgres postgres"
	echo "   (the store: mongodb://127.0.0.1:$store_port/, database authlog)"
	echo "   authlog-api: $api (OpenAPI: $api/v1/openapi.json; metrics: http://127.0.0.1:$metrics_port/metrics)"
	echo "   Prometheus: $LIB_PROM (alerts: $LIB_PROM/alerts)"
	trap 'exit 0' INT TERM
	while sleep 3600; do :; done
fi
echo
echo "== Demo done (no terminal: everything it started is stopped)."
