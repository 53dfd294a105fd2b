#!/usr/bin/env bash
# make demo: build and install authlog, start a throwaway cluster and a
# FerretDB store, replay a small brute-force and credential-stuffing
# campaign, and print what a security analyst would ask of it, from
# PostgreSQL and from the mirrored document store.  On a terminal the
# cluster and the store stay up until Ctrl-C; without one (CI) the demo
# prints its report, stops everything it started and exits 0.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib.sh

if [ "${1:-}" != "--run" ]; then
	make -s prepare
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
trap 'bash test/cluster.sh stop "$cluster"; rm -rf "$cluster"' EXIT
psql -X -q -P pager=off -h "$cluster" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -f test/demo.sql

if [ -t 0 ]; then
	echo
	echo "== The cluster and the store stay up until Ctrl-C. Look around:"
	echo "   psql -h $cluster -p $port -U postgres postgres"
	echo "   (the store: mongodb://127.0.0.1:$store_port/, database authlog)"
	trap 'exit 0' INT TERM
	while sleep 3600; do :; done
fi
echo
echo "== Demo done (no terminal: everything it started is stopped)."
