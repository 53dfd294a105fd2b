#!/usr/bin/env bash
# make demo: build and install authlog, start a throwaway cluster, replay a
# small brute-force and credential-stuffing campaign, and print what a
# security analyst would ask of it.  As root, the cluster runs as postgres.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "${1:-}" != "--run" ]; then
	make -s
	make -s install
	if [ "$(id -u)" = 0 ]; then
		work=$(mktemp -d /tmp/authlog-demo.XXXXXX)
		cp test/cluster.sh test/demo.sh test/demo.sql "$work/"
		chown -R postgres: "$work"
		runuser -u postgres -- bash "$work/demo.sh" --run "$work"
		rm -rf "$work"
		exit 0
	fi
	set -- --run "$top/test"
fi

scripts=$2
cluster=$(mktemp -d /tmp/authlog-demo-cluster.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
bash "$scripts/cluster.sh" start "$cluster" "$port"
trap 'bash "$scripts/cluster.sh" stop "$cluster"; rm -rf "$cluster"' EXIT
psql -X -q -h "$cluster" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -f "$scripts/demo.sql"
