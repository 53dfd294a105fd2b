#!/usr/bin/env bash
# authlog-api against its own OpenAPI document and OCSF, live: a throwaway
# cluster with a campaign's events, authlog-api over it, then
#   - schemathesis: every operation with generated valid and invalid
#     requests; no 5xx, every answer (status, content type, body) as the
#     document says, invalid input refused, auth not ignored, undeclared
#     methods 405.  All checks but positive_data_acceptance: what the
#     document cannot say (since after until; an Idempotency-Key reused for
#     another body) is refused by design;
#   - ocsf-emitter: every event of format=ocsf-ndjson validates as an OCSF
#     1.5.0 Authentication event (its models and invariants: class, type_uid,
#     enums, schema version).
# Run by make test (--smoke: few examples) and make test-long (many), as a
# user PostgreSQL accepts (not root).
#
#   test/api_contract.sh --smoke | --full
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib.sh
examples=5
[ "${1:-}" = --full ] && examples=100
py=build/venv/bin/python

work=$(mktemp -d /tmp/authlog-contract.XXXXXX)
port=$(lib_free_port)
store_port=$(lib_free_port)
LIB_API_PID=
trap '[ -z "$LIB_API_PID" ] || kill "$LIB_API_PID" 2>/dev/null; bash test/cluster.sh stop "$work/pg";
	bash test/ferretdb.sh stop "$work/store"; rm -rf "$work"' EXIT
# (with a document store, so that copy=store verifies the store's seals)
bash test/ferretdb.sh start "$work/store" "$store_port"
bash test/cluster.sh start "$work/pg" "$port" "authlog.seal_interval = '1s'" \
	"authlog.mirror_uri = 'mongodb://127.0.0.1:$store_port/'" "authlog.mirror_idle_advance = '1s'"
lib_start_api "$work" "$work/pg" "$port" -rate 0
api=$LIB_API
psql -X -q -h "$work/pg" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
SELECT authlog.set_lockout_policy('acme', 3, '15 minutes', '15 minutes');
SELECT authlog.record_login('acme', o, u, n % 5 = 0, ('198.51.100.' || n % 7)::inet, ua, p::authlog.auth_path)
FROM generate_series(1, 40) n,
     (VALUES ('finance', 'fred', 'Mozilla/5.0', 'web'), ('hr', 'hana', '=cmd|calc', 'api')) v(o, u, ua, p);
SELECT authlog.reset_lockout('acme', 'hr', 'hana', 'helpdesk:anna', 'ticket 1');
SELECT authlog.seal_now('60s');
SELECT authlog.mirror_sync('60s');
SQL
token=$(lib_token "$work" '"sub":"contract@acme","tenant":"acme","roles":["reader","helpdesk","compliance"]')

rc=0
echo "# schemathesis: $api/v1/openapi.json, $examples examples an operation"
"$py" build/venv/bin/schemathesis run "$api/v1/openapi.json" -H "Authorization: Bearer $token" \
	--checks all --exclude-checks positive_data_acceptance \
	--max-examples "$examples" --seed 1 --workers 1 --no-shrink \
	--request-timeout 30 --warnings off || rc=$?

echo "# ocsf-emitter: format=ocsf-ndjson"
curl -sf -H "Authorization: Bearer $token" "$api/v1/events?limit=1000&format=ocsf-ndjson" >"$work/ocsf.ndjson"
"$py" - "$work/ocsf.ndjson" <<'PY' || rc=$?
import json, sys
from ocsf_emitter._models import Authentication
from ocsf_emitter.validate import validate
n = 0
for line in open(sys.argv[1]):
    event = validate(Authentication.model_validate(json.loads(line)))
    assert int(event.class_uid) == 3002, event
    n += 1
assert n >= 80, f"only {n} events"
print(f"ok: {n} events validate as OCSF Authentication (class 3002)")
PY
echo "# SIGTERM: the request in flight is answered, then authlog-api exits 0"
curl -s -o "$work/inflight.tar.gz" -w '%{http_code}\n' -H "Authorization: Bearer $token" \
	"$api/v1/evidence?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z" >"$work/inflight.status" &
curl_pid=$!
sleep 0.05
kill -TERM "$LIB_API_PID"
if wait "$LIB_API_PID"; then
	wait "$curl_pid" || true
	if [ "$(cat "$work/inflight.status")" = 200 ] && tar -tzf "$work/inflight.tar.gz" >/dev/null; then
		echo "ok: exited 0 after answering"
	else
		echo "not ok: the request in flight got $(cat "$work/inflight.status")"; rc=1
	fi
else
	echo "not ok: authlog-api exited $? on SIGTERM"; rc=1
fi
LIB_API_PID=
if [ $rc != 0 ]; then
	echo "=== authlog-api log"; tail -30 "$work/api.log"
fi
exit $rc
