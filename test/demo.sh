#!/usr/bin/env bash
# make demo: build and install authlog, start a throwaway cluster and a
# FerretDB store, replay a small brute-force and credential-stuffing
# campaign, and print what a security analyst would ask of it, from
# PostgreSQL and from the mirrored document store.  As root, the cluster
# runs as postgres.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "${1:-}" != "--run" ]; then
	make -s prepare
	store=$(mktemp -d /tmp/authlog-demo-store.XXXXXX)
	store_port=$(( 20000 + RANDOM % 20000 ))
	bash test/ferretdb.sh start "$store" "$store_port"
	trap 'bash test/ferretdb.sh stop "$store"; rm -rf "$store"' EXIT
	if [ "$(id -u)" = 0 ]; then
		work=$(mktemp -d /tmp/authlog-demo.XXXXXX)
		cp test/cluster.sh test/demo.sh test/demo.sql "$work/"
		chown -R postgres: "$work"
		runuser -u postgres -- bash "$work/demo.sh" --run "$work" "$store_port"
		rm -rf "$work"
	else
		bash test/demo.sh --run "$top/test" "$store_port"
	fi
	exit 0
fi

scripts=$2
store_port=$3
cluster=$(mktemp -d /tmp/authlog-demo-cluster.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
bash "$scripts/cluster.sh" start "$cluster" "$port" \
	"authlog.mirror_uri = 'mongodb://127.0.0.1:$store_port/'" "authlog.mirror_idle_advance = '1s'"
trap 'bash "$scripts/cluster.sh" stop "$cluster"; rm -rf "$cluster"' EXIT
psql -X -q -h "$cluster" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -f "$scripts/demo.sql"
