#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster for tests, the demo and the
# benchmarks: initdb in DIR, unix socket in DIR, no TCP, authlog preloaded,
# wal_level=logical.  Runs as the current user, which must not be root.
#
#   test/cluster.sh start DIR PORT [extra postgresql.conf lines...]
#   test/cluster.sh stop DIR
set -euo pipefail

bindir=$(pg_config --bindir)
cmd=${1:?start or stop}
dir=${2:?cluster directory}

case "$cmd" in
start)
	port=${3:?port}
	shift 3
	rm -rf "$dir"
	mkdir -p "$dir"
	"$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "port = $port"
		echo "shared_preload_libraries = 'authlog'"
		echo "wal_level = logical"
		echo "max_replication_slots = 10"
		echo "max_wal_senders = 10"
		echo "fsync = off"
		echo "log_min_messages = warning"
		echo "log_line_prefix = '%m [%p] %b '"
		# 15.19 and later refuse output plugins not listed here
		settings=$("$bindir/postgres" --describe-config 2>/dev/null || true)
		if grep -q '^output_plugin_libraries' <<<"$settings"; then
			echo "output_plugin_libraries = 'pgoutput, test_decoding, wal2json, authlog'"
		fi
		for line in "$@"; do echo "$line"; done
	} >>"$dir/data/postgresql.conf"
	"$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		"$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
	;;
*)
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
	;;
esac
