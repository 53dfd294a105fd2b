# test/lib.sh: what the drivers of make test, make demo and make bench share.
# Sourced, never run.
#
#   lib_free_port                  a TCP port in 20000-39999 that nothing on
#                                  127.0.0.1 listens on
#   lib_rerun_as_postgres PREFIX SCRIPT ARGS...
#                                  as root: copy the tree to a new directory
#                                  /tmp/PREFIX.XXXXXX that postgres owns and
#                                  run SCRIPT (a path in the tree) there as
#                                  postgres; sets LIB_WORK to the copy and
#                                  LIB_RC to the script's exit status
#   lib_pgbench_tps                pgbench's output on stdin, its tps out
#   lib_start_api DIR PGDIR PGPORT [authlog-api flags...]
#                                  authlog-api over a cluster whose authlog
#                                  is installed: keys made in DIR (the
#                                  identity provider's, by build/bin/tokens,
#                                  and the operator's evidence key), the
#                                  gateway role and the issuer registered
#                                  (test/demo_gateway.sql), the API started
#                                  and ready; sets LIB_API (its URL),
#                                  LIB_API_PID and LIB_ISSUER
#   lib_serve_api DIR PGDIR PGPORT [flags...]
#                                  authlog-api started again (after
#                                  lib_start_api and a kill); sets LIB_API
#                                  and LIB_API_PID
#   lib_token DIR CLAIMS           a token of LIB_ISSUER for authlog,
#                                  valid for 8 hours, with CLAIMS (JSON
#                                  members: sub, tenant, roles, ...)
#   lib_start_prometheus DIR METRICS_ADDRESS
#                                  a real Prometheus (Debian's) with
#                                  monitoring/prometheus.yml and alerts.yml,
#                                  scraping authlog-api's /metrics at
#                                  METRICS_ADDRESS (host:port) every second,
#                                  its data in DIR; sets LIB_PROM (its URL)
#                                  and LIB_PROM_PID
#   lib_firing_alerts              the firing alerts of LIB_PROM, one a
#                                  line: name and labels
#
# PostgreSQL refuses to run as root, so as root every cluster runs as the
# postgres user, on a copy of the tree it owns.

lib_free_port() {
	local port tries
	for tries in $(seq 1 100); do
		port=$(( 20000 + RANDOM % 20000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	echo "lib.sh: no free port found in 100 tries" >&2
	return 1
}

lib_rerun_as_postgres() {
	local prefix=$1 script=$2
	shift 2
	LIB_WORK=$(mktemp -d "/tmp/$prefix.XXXXXX")
	tar -C "$top" --exclude=.git -cf - . | tar -C "$LIB_WORK" -xf -
	chown -R postgres: "$LIB_WORK"
	set +e
	runuser -u postgres -- env ${LIB_ENV:-} bash "$LIB_WORK/$script" "$@"
	LIB_RC=$?
	set -e
}

lib_pgbench_tps() {
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p'
}

lib_start_api() {
	local dir=$1 pgdir=$2 pgport=$3
	shift 3
	LIB_ISSUER=https://idp.authlog.test
	build/bin/tokens keygen "$dir" >/dev/null
	openssl genpkey -algorithm ed25519 -out "$dir/evidence.key" 2>/dev/null
	openssl pkey -in "$dir/evidence.key" -pubout -out "$dir/evidence.pub"
	psql -X -q -h "$pgdir" -p "$pgport" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-v issuer="$LIB_ISSUER" -v jwks="$(cat "$dir/jwks.json")" -f test/demo_gateway.sql
	lib_serve_api "$dir" "$pgdir" "$pgport" "$@"
}

lib_serve_api() {
	local dir=$1 pgdir=$2 pgport=$3 port
	shift 3
	port=$(lib_free_port)
	build/bin/authlog-api serve -listen "127.0.0.1:$port" \
		-database "host=$pgdir port=$pgport user=authlog_api dbname=postgres" \
		-issuer "$LIB_ISSUER" -jwks-file "$dir/jwks.json" -evidence-key "$dir/evidence.key" \
		-metrics-listen "" "$@" 2>>"$dir/api.log" &
	LIB_API_PID=$!
	LIB_API=http://127.0.0.1:$port
	lib_wait_ready "$LIB_API/readyz" authlog-api "$dir/api.log"
}

lib_wait_ready() {	# lib_wait_ready URL WHAT LOG: up to 10 s for URL to answer 2xx
	for _ in $(seq 1 100); do
		curl -sf "$1" >/dev/null && return 0
		sleep 0.1
	done
	echo "lib.sh: $2 did not start" >&2
	cat "$3" >&2
	return 1
}

lib_token() {
	build/bin/tokens sign "$1" ed-1 EdDSA "$(printf '{"iss":"%s","aud":"authlog","exp":%d,%s}' \
		"$LIB_ISSUER" $(( $(date +%s) + 8 * 3600 )) "$2")"
}

lib_start_prometheus() {
	local dir=$1 target=$2 port
	mkdir -p "$dir"
	sed "s/127.0.0.1:9464/$target/" monitoring/prometheus.yml >"$dir/prometheus.yml"
	cp monitoring/alerts.yml "$dir/alerts.yml"
	port=$(lib_free_port)
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$port" 2>"$dir/prometheus.log" &
	LIB_PROM_PID=$!
	LIB_PROM=http://127.0.0.1:$port
	lib_wait_ready "$LIB_PROM/-/ready" Prometheus "$dir/prometheus.log"
}

lib_firing_alerts() {
	curl -sf "$LIB_PROM/api/v1/alerts" | jq -r '.data.alerts[] | select(.state == "firing")
		| "\(.labels.alertname) \(.labels | del(.alertname, .severity) | to_entries
		   | map("\(.key)=\(.value)") | join(" "))"' | sort
}
