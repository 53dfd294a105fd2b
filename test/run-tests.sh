#!/usr/bin/env bash
# make test: build and install authlog, start a throwaway cluster, run the
# pg_regress, isolation and TAP suites against it, the alerting rules' unit
# tests (promtool), then authlog-api's Go tests and its contract smoke
# (test/api_contract.sh), and exit non-zero on any failure.  PostgreSQL refuses to run as root, so as root the suites
# run as the postgres user on a copy of the tree that user owns.
# make test-long (--long): the fuzzer, the long TAP suites (test/long), the
# monitoring end to end (test/monitoring_e2e.sh: a real Prometheus) and the
# full contract test.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib.sh

long=
if [ "${1:-}" = "--long" ]; then
	long=--long
	shift
fi

if [ "${1:-}" != "--suites" ]; then
	make -s prepare
	bash test/hydra.sh build
	bash test/venv.sh
	[ -z "$long" ] || bash test/fuzz/run.sh
	if [ "$(id -u)" = 0 ]; then
		lib_rerun_as_postgres authlog-test test/run-tests.sh $long --suites
		# keep what the suites wrote where the caller can read it
		# (test/output/console holds the screenshots the README shows: kept)
		find "$top/test/output" -mindepth 1 -maxdepth 1 ! -name console -exec rm -rf {} + 2>/dev/null || true
		mkdir -p "$top/test/output"
		for f in regression.diffs results test/isolation/output tmp_check/log; do
			[ -e "$LIB_WORK/$f" ] && cp -a "$LIB_WORK/$f" "$top/test/output/" || true
		done
		# the console's screenshots (make test-long's browser walk)
		if [ -d "$LIB_WORK/test/output/console" ]; then
			mkdir -p "$top/test/output/console"
			cp -a "$LIB_WORK"/test/output/console/. "$top/test/output/console/"
		fi
		[ "$LIB_RC" = 0 ] && rm -rf "$LIB_WORK"
		exit "$LIB_RC"
	fi
fi

cluster=$(mktemp -d /tmp/authlog-cluster.XXXXXX)
port=$(lib_free_port)
bash test/cluster.sh start "$cluster" "$port"
trap 'bash test/cluster.sh stop "$cluster"; rm -rf "$cluster"' EXIT
export PGHOST=$cluster PGPORT=$port PGUSER=postgres

rc=0
if [ -n "$long" ]; then
	make -s installcheck REGRESS= ISOLATION= PROVE_TESTS='test/long/*.pl' || rc=$?
	bash test/monitoring_e2e.sh || rc=$?
	# the console in a real browser, over the demo's campaign: its
	# screenshots go to test/output/console/
	AUTHLOG_TOP=$top AUTHLOG_BROWSER=$(command -v chromium) \
		build/api-tests/httpapi.test -test.run 'TestConsoleBrowser' -test.v -test.timeout 10m || rc=$?
	bash test/api_contract.sh --full || rc=$?
else
	make -s installcheck || rc=$?
	# the alerting rules: valid, and each fires on its series and not on
	# its near miss (monitoring/alerts_test.yml)
	promtool check config monitoring/prometheus.yml || rc=$?
	promtool test rules monitoring/alerts_test.yml || rc=$?
	# authlog-api's Go tests (compiled by make api); httpapi's start their
	# own throwaway cluster with test/cluster.sh
	for t in build/api-tests/*.test; do
		echo "# $t"
		AUTHLOG_TOP=$top "$t" -test.timeout 10m || rc=$?
	done
	bash test/api_contract.sh --smoke || rc=$?
fi
if [ $rc != 0 ]; then
	for diffs in regression.diffs test/isolation/output/regression.diffs; do
		[ -s "$diffs" ] && { echo "=== $diffs"; head -200 "$diffs"; }
	done
	echo "=== server log"; tail -50 "$cluster/server.log"
fi
exit $rc
