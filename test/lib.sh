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
#   lib_start_hydra DIR PGDIR PGPORT
#                                  a real OIDC provider (Ory Hydra, built by
#                                  test/hydra.sh) over a database of the
#                                  cluster, its login and consent app
#                                  test/idp-login offering the people of
#                                  test/console_personas.json; sets LIB_HYDRA
#                                  (the issuer), LIB_HYDRA_ADMIN and
#                                  LIB_HYDRA_PIDS
#   lib_trust_hydra PGDIR PGPORT   authlog trusts Hydra's keys (claims mode)
#   lib_console_client BASE_URL SECRET_FILE
#                                  registers the console (served at
#                                  BASE_URL) as Hydra's client; sets
#                                  LIB_CONSOLE_FLAGS (authlog-api's flags)
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
	port=${LIB_API_PORT:-$(lib_free_port)}
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

lib_start_hydra() {
	local dir=$1 pgdir=$2 pgport=$3 public admin idp env
	public=$(lib_free_port)
	admin=$(lib_free_port)
	idp=$(lib_free_port)
	LIB_HYDRA=http://127.0.0.1:$public
	LIB_HYDRA_ADMIN=http://127.0.0.1:$admin
	psql -X -q -h "$pgdir" -p "$pgport" -U postgres -d postgres -c 'CREATE DATABASE hydra'
	env=(DSN="postgres://postgres@/hydra?host=$pgdir&port=$pgport&sslmode=disable"
		URLS_SELF_ISSUER="$LIB_HYDRA" URLS_LOGIN="http://127.0.0.1:$idp/login"
		URLS_CONSENT="http://127.0.0.1:$idp/consent" SECRETS_SYSTEM="authlog-demo-secret-of-32-characters"
		STRATEGIES_ACCESS_TOKEN=jwt OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS=tenant,roles,organisations
		SERVE_PUBLIC_HOST=127.0.0.1 SERVE_PUBLIC_PORT="$public"
		SERVE_ADMIN_HOST=127.0.0.1 SERVE_ADMIN_PORT="$admin" LOG_LEVEL=warn)
	env "${env[@]}" build/bin/hydra migrate sql -e --yes >"$dir/hydra.log" 2>&1
	env "${env[@]}" build/bin/hydra serve all --dev >>"$dir/hydra.log" 2>&1 &
	LIB_HYDRA_PIDS=$!
	build/bin/idp-login -listen "127.0.0.1:$idp" -hydra-admin "$LIB_HYDRA_ADMIN" \
		-personas test/console_personas.json 2>"$dir/idp-login.log" &
	LIB_HYDRA_PIDS="$LIB_HYDRA_PIDS $!"
	lib_wait_ready "$LIB_HYDRA/health/ready" Hydra "$dir/hydra.log"
	lib_wait_ready "http://127.0.0.1:$idp/health" idp-login "$dir/idp-login.log"
}

lib_trust_hydra() {
	local jwks
	jwks=$(curl -sf "$LIB_HYDRA/.well-known/jwks.json")
	psql -X -q -h "$1" -p "$2" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-v issuer="$LIB_HYDRA" -v jwks="$jwks" <<<"SELECT authlog.trust_issuer(:'issuer', :'jwks'::jsonb, 'authlog', 'claims');" >/dev/null
}

lib_console_client() {
	local client
	client=$(curl -sf -H 'Content-Type: application/json' "$LIB_HYDRA_ADMIN/admin/clients" -d "$(jq -n --arg cb "$1/console/callback" \
		'{grant_types: ["authorization_code"], response_types: ["code"], redirect_uris: [$cb], scope: "openid",
		  audience: ["authlog"], token_endpoint_auth_method: "client_secret_basic"}')")
	jq -r .client_secret <<<"$client" >"$2"
	LIB_CONSOLE_FLAGS=(-console-url "$1" -console-issuer "$LIB_HYDRA"
		-console-client-id "$(jq -r .client_id <<<"$client")" -console-client-secret-file "$2")
}
